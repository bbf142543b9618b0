"""Command-line entry point. Argument parsing and printing only; the work lives in grader.api.

Imports are lazy, and every argument is checked (the folder, the rubric) before anything heavy
loads: a mistyped name is answered at once, without waiting for torch or a sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from grader import __version__

RUBRIC_HELP = "rubric file (default: the one [tool.grader] rubric = ... names in the nearest pyproject.toml above here)"
SUBMISSIONS_FIX = "put one folder or .zip per student there"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade numerical deep-learning submissions against trusted references.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command")

    rubric = commands.add_parser("rubric", help="work with rubric files")
    rubric_commands = rubric.add_subparsers(dest="rubric_command", required=True)
    validate = rubric_commands.add_parser("validate", help="check a rubric completely, without running student code")
    validate.add_argument("file", nargs="?", help="the rubric YAML file (default: the course's, as for --rubric)")

    grade = commands.add_parser("grade", help="grade every submission (folder or .zip) in a folder")
    grade.add_argument("submissions", help="folder holding one folder or .zip per student")
    grade.add_argument("--rubric", help=RUBRIC_HELP)
    grade.add_argument("--out", default="results", help="where reports go (default results/)")
    grade.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1, help="submissions graded at once (default: cores)")
    grade.add_argument("--resume", action="store_true", help="keep results already written for the same rubric and submission")
    grade.add_argument("--strict", action=argparse.BooleanOptionalAction, default=None,
                       help="refuse to grade without every isolation layer (default: on with --backend ray, off locally)")
    grade.add_argument("--backend", choices=("local", "ray"), default="local",
                       help="local: a process pool on this machine (default); ray: one task per submission on a Ray cluster")
    grade.add_argument("--address", help="with --backend ray: the cluster to join (default RAY_ADDRESS, else a local "
                                         "instance of --jobs CPUs)")

    check = commands.add_parser("check", help="run the visible checks on your own submission")
    check.add_argument("submission", nargs="?", default=".", help="your submission folder (default: here)")
    check.add_argument("--rubric", help="a rubric, or a kit's .selfcheck/checks.bin (default: the kit the folder, or the "
                                        "working folder, is; else the course's rubric, as for grade)")
    check.add_argument("--json", metavar="FILE", help="also write the result, with its timings, to FILE as JSON")

    gradescope = commands.add_parser("gradescope", help="build or run the Gradescope autograder")
    gradescope_commands = gradescope.add_subparsers(dest="gradescope_command", required=True)
    build = gradescope_commands.add_parser("build", help="write the autograder zip to upload")
    build.add_argument("--rubric", help=RUBRIC_HELP)
    build.add_argument("-o", "--output", default="autograder.zip", help="the zip to write (default autograder.zip)")
    run = gradescope_commands.add_parser("run", help="grade /autograder/submission into /autograder/results")
    run.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", "/autograder"), help="the autograder root")
    trusted = gradescope_commands.add_parser("trusted-paths", help="print the installed files student code must never "
                                             "read (the grader, the rubric's reference packages), one per line")
    trusted.add_argument("rubric", help="the rubric whose reference packages to list")

    audit = commands.add_parser("audit", help="measure a rubric's strength by grading mutants of its reference")
    audit.add_argument("--rubric", help=RUBRIC_HELP)
    audit.add_argument("--out", default="audit", help="where audit.json, audit.html and survivors/ go (default audit/)")
    audit.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1, help="mutants graded at once (default: cores)")
    audit.add_argument("--training", action="store_true", help="also audit training items (each mutant trains a model)")

    kit = commands.add_parser("kit", help="build the student kit: the visible checks without the solutions")
    kit_commands = kit.add_subparsers(dest="kit_command", required=True)
    kit_build = kit_commands.add_parser("build", help="write the kit as a folder, or a zip when -o ends in .zip")
    kit_build.add_argument("--rubric", help=RUBRIC_HELP)
    kit_build.add_argument("-o", "--output", required=True, help="the folder (new or empty) or .zip to write")

    commands.add_parser("isolation", help="show the isolation layers student code gets on this machine, as JSON")
    doctor = commands.add_parser("doctor", help="check which isolation layers work here and what strict grading would refuse")
    doctor.add_argument("--rubric", help="rubric whose required layers to check (default: the course's, as for grade; "
                                         "without one, only the machine is checked)")
    return parser


def fail(message: str) -> int:
    """A harness error told in one line, with its fix: exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    return 2


def rubric_file(given: str | None, instead: str | None = None, omit: str | None = "leave out --rubric") -> str | None:
    """The rubric a command uses: --rubric when given, else the one the course's settings name
    (grader.course). None after saying, in one line, why there is none and what to do. `instead`
    says how this command is given a rubric; `omit`, how to fall back on the course's (None: it cannot)."""
    from grader.course import PASS_RUBRIC, CourseError, course_rubric

    if given is not None:
        if os.path.isfile(given):
            return given
        if os.path.isdir(given):
            fail(f"{given} is a folder, not a rubric: give the rubric's YAML file")
            return None
        try:  # the course's rubric is offered only when there is one to use
            fallback = f", or {omit} to use {course_rubric()}" if omit else ""
        except CourseError:
            fallback = ""
        fail(f"no rubric at {given}: check the path{fallback}")
        return None
    try:
        return str(course_rubric(instead=instead or PASS_RUBRIC))
    except CourseError as error:
        fail(str(error))
        return None


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _nearest_folder(missing: str) -> str:
    """ "; did you mean X?" when a folder beside `missing` has a name close to it, else ""."""
    import difflib

    parent, name = os.path.split(os.path.normpath(missing))
    try:
        siblings = [entry.name for entry in os.scandir(parent or ".") if entry.is_dir()]
    except OSError:
        return ""
    close = difflib.get_close_matches(name, siblings, n=1)
    return f"; did you mean {os.path.join(parent, close[0])}?" if close else ""


def _output_clash(folder: str, out: str) -> str | None:
    """Reports written into the submissions folder itself, or into one student's entry, would mix
    with what is graded: <out>/<student>/ would be that student's own folder."""
    try:
        base, target = Path(folder).resolve(), Path(out).resolve()
    except (OSError, RuntimeError):
        return None
    fix = "give --out a folder of its own (a new folder inside it is fine: it is never graded)"
    if target == base:
        return f"--out {out} is the submissions folder itself: the reports would go into the students' folders; {fix}"
    parts = target.relative_to(base).parts if base in target.parents else ()
    if len(parts) > 1 and (base / parts[0]).is_dir():
        entry = parts[0]
        return f"--out {out} is inside the submission {entry!r}: the reports would change it; {fix}"
    return None


def submissions_problem(folder: str, out: str | None = None) -> str | None:
    """Why `folder` holds nothing to grade, with the fix; None when it holds a submission.
    The output folder `out`, when inside it, is none."""
    from grader.submission import find_submissions

    if not os.path.exists(folder):
        return (f"{folder} does not exist: give the folder that holds one folder or .zip per student"
                + _nearest_folder(folder))
    if not os.path.isdir(folder):
        return (f"{folder} is a file, not a folder: give the folder that holds one folder or .zip per student "
                f"(to check one submission, use grader check)")
    clash = out is not None and _output_clash(folder, out)
    if clash:
        return clash
    try:
        entries = os.listdir(folder)
        found = find_submissions(folder, out=out)
    except OSError as error:
        return f"cannot read {folder} ({error.strerror or error}): fix its permissions"
    if not entries:
        return f"{folder} is empty: {SUBMISSIONS_FIX}"
    if not found:
        return (f"no submissions in {folder}: {SUBMISSIONS_FIX} (it holds {len(entries)} other "
                f"entr{'ies' if len(entries) > 1 else 'y'}; to check one student's folder, use grader check)")
    return None


def _rubric_or_report(path: str, summary: bool = False, secret: bool = True):
    """The validated rubric, or None after printing every problem to stderr."""
    from grader.rubric import RubricError, load_rubric

    try:
        return load_rubric(path, secret=secret)
    except RubricError as error:
        print("\n".join(error.problems), file=sys.stderr)
        if summary:
            print(f"{len(error.problems)} problem{'s' if len(error.problems) != 1 else ''} in {path}", file=sys.stderr)
        return None


def describe_progress(item_id: str, report: dict) -> str:
    """One line for a long check's progress: which run, which epoch, the loss, the time left."""
    text = f"{item_id}"
    if report.get("run"):
        text += f" ({report['run']})"
    if "epoch" in report and "epochs" in report:
        text += f", epoch {report['epoch']:.0f}/{report['epochs']:.0f}"
    if "loss" in report:
        text += f", loss {report['loss']:.3f}"
    if report.get("left_s") is not None:
        text += f", about {report['left_s']:.0f} s left"
    return text


def validate_rubric(given: str | None) -> int:
    path = rubric_file(given, instead="give it as grader rubric validate FILE", omit="give no file")
    if path is None:
        return 2
    rubric = _rubric_or_report(path, summary=True)
    if rubric is None:
        return 2
    kinds: dict[str, int] = {}
    for item in rubric.items:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"{path}: valid; {plural(len(rubric.items), 'item')} ({summary}), {rubric.max_score:g} points")
    return 0


def _start_batch(rubric_path: str, jobs: int) -> None:
    """The zygote and the workers' fork server import torch while this process does."""
    _launch_zygote(rubric_path)
    if jobs > 1:
        from grader.pool import start_early

        start_early()


def _progress_bar(console):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, console=console, transient=True)


def _note_undecodable(paths) -> None:
    """Say which entries' names are not valid UTF-8, and what each is filed as: they are graded all the same."""
    from grader.identity import identities
    from grader.submission import is_utf8, shown_name

    for path, student in identities(paths).items():
        if not is_utf8(path.name):
            print(f"note: the name {shown_name(path.name)} is not valid UTF-8; that submission is graded and "
                  f"filed as {student}", file=sys.stderr)


def grade(args) -> int:
    problem = submissions_problem(args.submissions, args.out)
    if problem:
        return fail(problem)
    args.rubric = rubric_file(args.rubric)
    if args.rubric is None:
        return 2
    strict = args.strict if args.strict is not None else args.backend == "ray"
    if args.backend == "ray":
        try:
            import grader.backends.ray  # noqa: F401  (only to say early that Ray is missing)
        except ImportError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    else:
        _start_batch(args.rubric, args.jobs)
    from contextlib import nullcontext

    from rich.console import Console

    from grader.batch import OutputError, grade_folder
    from grader.boundary import IsolationError
    from grader.checks.training import DataError
    from grader.progress import ProgressLines
    from grader.reports.html import write_html_reports
    from grader.submission import find_submissions

    console = Console()
    rubric = _rubric_or_report(args.rubric)
    if rubric is None:
        return 2
    if rubric.secret is None:
        rubric = _with_new_secret(args.rubric, console)
        if rubric is None:
            return 2
    paths = find_submissions(args.submissions, out=args.out)  # the list grade_folder grades
    _note_undecodable(paths)
    # A terminal gets a live bar; a log (CI, a file) gets a plain line per student, or per few.
    with _progress_bar(console) if console.is_terminal else nullcontext() as bar:
        if bar is not None:
            task = bar.add_task("grading", total=len(paths))
            shown = {"on_start": lambda name: bar.update(task, description=f"grading {name}"),
                     "on_done": lambda result, resumed: bar.advance(task),
                     "on_progress": lambda name, item_id, report: bar.update(
                         task, description=f"grading {name}: {describe_progress(item_id, report)}")}
        else:
            print(f"grading {plural(len(paths), 'submission')}", flush=True)
            lines = ProgressLines(len(paths), lambda text: print(text, flush=True))
            shown = {"on_done": lambda result, resumed: lines.finished(result.student, kept=resumed)}
        try:
            batch = grade_folder(args.submissions, rubric, args.out, jobs=args.jobs, resume=args.resume,
                                 strict=strict, backend=args.backend, address=args.address, **shown)
        except (IsolationError, DataError, OutputError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    results = sorted(batch.results, key=lambda r: r.student)
    try:
        dashboard = write_html_reports(results, rubric, Path(args.out))
    except OSError as error:
        print(f"error: cannot write the HTML reports to {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    from grader.reports.terminal import batch_table

    table = batch_table(results, f"{rubric.title}: {plural(len(results), 'submission')} in {batch.seconds:.1f} s"
                        + (f" ({len(batch.resumed)} kept from an earlier run)" if batch.resumed else ""))
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = _log_width(console, table)
    console.print(table)
    console.print(f"Reports: {dashboard} (class dashboard), {Path(args.out) / 'gradebook.csv'}, "
                  f"and {Path(args.out)}/<student>/ (result.json, feedback.md, report.html); log: {Path(args.out) / 'grading.log'}",
                  markup=False, highlight=False, soft_wrap=not console.is_terminal)
    return 0


def _log_width(console, renderable, least: int = 160) -> int:
    """Wide enough for `renderable` whole: a log or a pipe has no screen to fit, and a cut item id helps no one."""
    console.width = 10_000
    return max(least, console.measure(renderable).maximum)


def _with_new_secret(rubric_path: str, console):
    """The rubric with a grading secret made for it: final grading never draws the kit's inputs."""
    from grader.secret import create_secret

    try:
        path, made = create_secret(rubric_path)
    except OSError as error:
        print(f"error: cannot write the grading secret next to {rubric_path} ({error.strerror or error}); "
              f"set GRADER_SECRET_FILE to a file you can write", file=sys.stderr)
        return None
    if made:
        console.print(f"Made the grading secret {path}: it seeds the generated inputs of final grading, which a student "
                      f"kit does not hold. Keep it (and out of what students see): grades are reproducible with it.",
                      markup=False, highlight=False)
    return _rubric_or_report(rubric_path)


def _launch_zygote(rubric_path, kit: bool = False) -> None:
    """Start the zygote's imports before this process's own, so that the two overlap."""
    from grader.boundary.zygote import shared_zygote

    if kit:
        from grader.kit import kit_summary

        trains = bool((kit_summary(rubric_path) or {}).get("trains"))
    else:
        from grader.rubric import trains as rubric_trains

        trains = rubric_trains(rubric_path, visible_only=True)
    shared_zygote(trains).launch()


def _self_check_source(args) -> tuple[str | None, str | None]:
    """(what the self-check grades from, and whether it is a kit's record), found without loading it:
    --rubric (a rubric, or a kit's checks.bin), else the kit the folder (or the working folder) is,
    else the rubric the course's settings name. (None, why) when there is none."""
    from grader.course import CourseError, course_rubric, course_settings
    from grader.kit import find_kit, is_kit_file, kit_above

    if args.rubric:
        if not os.path.isfile(args.rubric):
            return None, f"no rubric or kit record at {args.rubric}: check the path"
        return args.rubric, "kit" if is_kit_file(args.rubric) else "rubric"
    kit = (find_kit(args.submission) if os.path.isdir(args.submission) else None) or find_kit(".")
    if kit is not None:
        return str(kit), "kit"
    try:
        if course_settings() is not None:  # an instructor's course: its rubric, or why it cannot be used
            return str(course_rubric()), "rubric"
    except CourseError as error:
        return None, str(error)
    above = kit_above(args.submission if os.path.isdir(args.submission) else ".")
    where = (f"run grader check in {above}, the kit's folder" if above else
             "run grader check inside the kit's folder (the one with the .selfcheck folder), or pass --rubric")
    return None, f"{os.path.abspath(args.submission)} is not a self-check kit; {where}"


def _self_check_rubric(source: str, kind: str, console):
    """The rubric a self-check grades from: the kit's record, or the instructor's rubric recorded
    the same way (so both give the same verdicts). None after printing why not."""
    from grader.kit.record import KitError, load_kit_file, self_check_rubric

    try:
        if kind == "kit":
            console.print(f"Checks from {source}", markup=False, highlight=False, style="dim")
            return load_kit_file(source)
        rubric = _rubric_or_report(source, secret=False)
        if rubric is None:
            return None
        with console.status("recording the reference's answers for the self-check (kept for next time)"):
            return self_check_rubric(rubric)
    except KitError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def check(args) -> int:
    if not os.path.exists(args.submission):
        print(f"error: {args.submission} does not exist; give your submission folder", file=sys.stderr)
        return 2
    source, kind = _self_check_source(args)
    if source is None:
        print(f"error: {kind}", file=sys.stderr)
        return 2
    _launch_zygote(source, kit=kind == "kit")  # its imports overlap with this process's
    from rich.console import Console

    from grader.api import grade_submission
    from grader.boundary.doctor import self_check_notes
    from grader.checks.training import DataError
    from grader.files import write_text_atomically
    from grader.reports.terminal import print_check

    console = Console()
    rubric = _self_check_rubric(source, kind, console)
    if rubric is None:
        return 2
    try:
        with console.status("running the visible checks") as status:
            result = grade_submission(args.submission, rubric, progress=lambda item_id, report: status.update(
                describe_progress(item_id, report)))
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_check(console, result, {item.id: item.call for item in rubric.items if item.call},
                title=f"{rubric.title}: self-check of {result.student}", unseen=list(rubric.withheld),
                notes=self_check_notes(result.isolation))
    if args.json:
        write_text_atomically(args.json, result.to_json())
    return 0 if all(item.status == "passed" for item in result.items) else 1


def kit(args) -> int:
    args.rubric = rubric_file(args.rubric)
    if args.rubric is None:
        return 2
    from rich.console import Console

    from grader.kit.build import write_kit
    from grader.kit.record import KitError

    rubric = _rubric_or_report(args.rubric, secret=False)
    if rubric is None:
        return 2
    console = Console(stderr=True)
    try:
        with console.status("recording the visible checks") as status:
            path = write_kit(rubric, args.output, [Path(p) for p in rubric.kit_documents],
                             progress=lambda item_id, done, total: status.update(f"recording {item_id}: {done}/{total} inputs"))
    except (KitError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}: publish it with the assignment; it holds no solution and no hidden item")
    return 0


def audit(args) -> int:
    args.rubric = rubric_file(args.rubric)
    if args.rubric is None:
        return 2
    _start_batch(args.rubric, args.jobs)
    from rich.console import Console

    from grader import audit as auditing
    from grader.batch import OutputError
    from grader.boundary import IsolationError
    from grader.checks.training import DataError
    from grader.reports.audit import print_report, write_report

    rubric = _rubric_or_report(args.rubric)
    if rubric is None:
        return 2
    console = Console()
    out = Path(args.out)
    with _progress_bar(console) as progress:
        task = progress.add_task("building mutants of the reference", total=None)
        try:
            report = auditing.run(
                rubric, jobs=args.jobs, training=args.training, keep=out / "survivors",
                on_planned=lambda count: progress.update(task, total=count, description="grading mutants"),
                on_done=lambda name: progress.advance(task),
            )
        except (IsolationError, DataError, OutputError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    try:
        data, page = write_report(report, out)
    except OSError as error:
        print(f"error: cannot write the audit to {out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print_report(report, console)
    kept = f", and the surviving mutants as submissions in {out / 'survivors'}" if report.survivors() else ""
    console.print(f"Reports: {page}, {data}{kept}", markup=False, highlight=False)
    return 1 if report.failed() else 0


def gradescope(args) -> int:
    if args.gradescope_command in ("build", "trusted-paths"):
        args.rubric = rubric_file(args.rubric, omit="leave out --rubric" if args.gradescope_command == "build" else None)
        if args.rubric is None:
            return 2
    from grader import gradescope as autograder

    if args.gradescope_command == "build":
        try:
            path = autograder.build(Path(args.rubric), Path(args.output))
        except (OSError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"wrote {path}: upload it as the assignment's autograder")
        return 0
    if args.gradescope_command == "trusted-paths":
        from grader.api import installed_trusted_paths

        rubric = _rubric_or_report(args.rubric)
        if rubric is None:
            return 2
        print("\n".join(installed_trusted_paths(rubric)))
        return 0
    return autograder.run(Path(args.root))


def isolation() -> int:
    from grader.api import probe_isolation
    from grader.boundary import STRICT_LAYERS

    report = probe_isolation()
    print(json.dumps(report, indent=2))
    missing = [layer for layer in STRICT_LAYERS if not report.get(layer)]
    print("strict mode: " + ("available" if not missing else f"unavailable, missing {', '.join(missing)}"))
    return 0


def doctor(args) -> int:
    from grader.course import CourseError, course_settings

    try:  # a rubric given, or named by the course, must be there; without either, only the machine is checked
        wanted = args.rubric is not None or course_settings() is not None
    except CourseError as error:
        return fail(str(error))
    rubric_path = rubric_file(args.rubric) if wanted else None
    if wanted and rubric_path is None:
        return 2
    from rich.console import Console
    from rich.table import Table

    from grader.api import probe_isolation
    from grader.boundary import STRICT_LAYERS
    from grader.boundary.doctor import host_layers, missing_layers

    report = probe_isolation()
    table = Table(title="Isolation layers on this machine")
    for column in ("layer", "works here", "used", "what it stops"):
        table.add_column(column)
    for layer in host_layers(report):
        table.add_row(layer.name, "yes" if layer.works else "no", "yes" if layer.used else "no", layer.detail)
    console = Console()
    console.print(table)
    strict_missing = missing_layers(report, STRICT_LAYERS)
    console.print("grader grade --strict: " + ("would run" if not strict_missing else
                  f"would refuse, missing {', '.join(strict_missing)}"), markup=False, highlight=False)
    if rubric_path is None:
        console.print("no rubric (no --rubric, and no [tool.grader] rubric in a pyproject.toml above here): "
                      "only the machine was checked", markup=False, highlight=False)
        return 0
    rubric = _rubric_or_report(rubric_path)
    if rubric is None:
        return 2
    missing = missing_layers(report, rubric.requires)
    console.print(f"{rubric_path} requires {', '.join(rubric.requires) or 'no layer'}: "
                  + ("all present" if not missing else f"MISSING {', '.join(missing)}; grading would refuse"),
                  markup=False, highlight=False)
    return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "rubric":
        return validate_rubric(args.file)
    if args.command == "grade":
        return grade(args)
    if args.command == "check":
        return check(args)
    if args.command == "kit":
        return kit(args)
    if args.command == "gradescope":
        return gradescope(args)
    if args.command == "audit":
        return audit(args)
    if args.command == "isolation":
        return isolation()
    if args.command == "doctor":
        return doctor(args)
    parser.print_help()
    return 0


def run() -> None:
    """The console script: main(), then a quick exit.

    Every report is written and flushed by then; tearing down torch and the zygote
    the slow way would add most of a second to every command.
    """
    try:
        code = main()
    except SystemExit as stop:  # argparse's --help, --version and usage errors
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    except KeyboardInterrupt:
        code = 130
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    # Only what this command loaded can need closing: an argument error loads neither.
    if "grader.boundary.zygote" in sys.modules:
        sys.modules["grader.boundary.zygote"].close_shared()
    if "multiprocessing" in sys.modules:
        from grader.pool import remove_leftovers

        remove_leftovers()
    os._exit(code)
