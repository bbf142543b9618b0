"""Names that are not valid UTF-8 (bytes a Linux file system takes as they are) are neither graded
silently nor fatal: the entry is left out and the submission says so, the name written with \\xNN."""

import io
import os
import shutil
import zipfile

import pytest

from grader.submission import BAD_NAMES_LISTED, SubmissionError, open_submission, shown_name

from .conftest import ADA


def _bytes_path(folder, name: bytes):
    return os.path.join(os.fsencode(folder), name)


@pytest.fixture
def submission(tmp_path):
    folder = tmp_path / "ada"
    shutil.copytree(ADA, folder)
    with open(_bytes_path(folder, b"\xff.py"), "w") as handle:
        handle.write("import os\n")
    os.mkdir(_bytes_path(folder, b"d\xe9j\xe0"))
    with open(_bytes_path(folder, b"d\xe9j\xe0/helper.py"), "w") as handle:
        handle.write("x = 1\n")
    return folder


def test_a_file_or_folder_whose_name_is_not_utf8_is_left_out_and_named(submission):
    opened, clean = open_submission(submission), open_submission(ADA)
    assert opened.files == clean.files and clean.problems == []  # the rest is graded as if the names were not there
    assert opened.problems == [
        {"kind": "bad_name", "file": "d\\xe9j\\xe0/",
         "message": "the folder 'd\\xe9j\\xe0/' was not graded, nor anything in it: its name is not valid UTF-8; "
                    "rename it (letters, numerals, . _ -) and submit again"},
        {"kind": "bad_name", "file": "\\xff.py",
         "message": "the file '\\xff.py' was not graded: its name is not valid UTF-8; "
                    "rename it (letters, numerals, . _ -) and submit again"},
    ]


def test_many_such_names_are_listed_up_to_a_few_then_counted(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "main.py").write_text("x = 1\n")
    for number in range(BAD_NAMES_LISTED + 3):
        with open(_bytes_path(folder, b"f%d\xfe.py" % number), "w"):
            pass
    problems = open_submission(folder).problems
    assert len(problems) == BAD_NAMES_LISTED + 1
    assert problems[-1] == {"kind": "bad_name", "file": None,
                            "message": "3 more entries were left out for a name that is not valid UTF-8; "
                                       "rename them and submit again"}


def test_a_zip_that_calls_its_names_utf8_when_one_is_not_is_unreadable_with_the_name(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("abc.py", "x = 1\n")
    raw = bytearray(buffer.getvalue())
    for at in (raw.find(b"abc.py"), raw.rfind(b"abc.py")):  # the local header's name and the index's
        raw[at:at + 3] = b"\xff\xfeq"
    raw[raw.find(b"PK\x01\x02") + 9] |= 0x08  # the index's flag: names are UTF-8
    archive = tmp_path / "ada.zip"
    archive.write_bytes(bytes(raw))
    with pytest.raises(SubmissionError) as refused:
        open_submission(archive)
    assert str(refused.value) == ("ada.zip is not a readable zip: it names '\\xff\\xfeq.py', which is not valid UTF-8 "
                                  "though the zip says its names are; rename that file and zip the folder again")


def test_a_name_is_shown_with_its_bytes_escaped_and_nothing_a_terminal_obeys():
    assert shown_name(os.fsdecode(b"caf\xe9\x1b[2J.py")) == "'caf\\xe9\\x1b[2J.py'"
    assert shown_name("José.py") == "'José.py'"


def test_a_graded_submission_carries_the_name_to_its_result_and_feedback(submission, bundled, zygote):
    from grader.api import grade_submission
    from grader.reports.feedback import feedback_markdown

    result = grade_submission(submission, bundled, zygote=zygote, items=["conv_matrix.published"])
    assert result.item("conv_matrix.published").status == "passed"  # the rest is graded as usual
    assert [(found["kind"], found["file"]) for found in result.problems] == [
        ("bad_name", "d\\xe9j\\xe0/"), ("bad_name", "\\xff.py")]
    feedback = feedback_markdown(result, "T")
    assert feedback.count("the file '\\xff.py' was not graded") == 1, feedback
    assert "stopped items" not in feedback  # nothing was stopped: the rest was graded
