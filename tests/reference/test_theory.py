import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from reference.conv_matrix import conv_as_matrix
from reference.strategies import conv_cases
from reference.theory import (
    AnswerFormatError,
    conv_matrix_symbolic,
    linear_region_table,
    parse_kernel_entry,
    read_conv_answer,
    repair_split_entries,
)


def test_published_conv_question_pattern():
    grid = conv_matrix_symbolic((3, 3), (3, 3), stride=4, padding=2)
    nonzero = {(r, c): entry for r, row in enumerate(grid) for c, entry in enumerate(row) if entry != 0}
    assert nonzero == {(0, 0): (2, 2), (1, 2): (2, 0), (2, 6): (0, 2), (3, 8): (0, 0)}


@given(conv_cases())
def test_symbolic_matrix_evaluates_to_the_numeric_one(case):
    kernel, image, stride, padding = case
    grid = conv_matrix_symbolic(kernel.shape, image.shape, stride, padding)
    evaluated = np.array([[0.0 if e == 0 else kernel[e] for e in row] for row in grid])
    np.testing.assert_array_equal(evaluated, conv_as_matrix(kernel, image.shape, stride, padding))


@pytest.mark.parametrize(
    "text", ["w(2,1)", "w(2, 1)", "w_21", "w21", "w[2][1]", "w[2,1]", "W(2,1)", " w( 2 ,1 ) ", "W[2][1]"]
)
def test_accepted_spellings(text):
    assert parse_kernel_entry(text) == (2, 1)


@pytest.mark.parametrize("zero", [0, 0.0, "0", "0.0"])
def test_zero_spellings(zero):
    assert parse_kernel_entry(zero) == 0


@pytest.mark.parametrize("bad", ["w(2", "x(1,1)", "w123", "w", 1, 0.5, True, None, "w(a,b)"])
def test_rejected_entries_name_the_accepted_spellings(bad):
    with pytest.raises(AnswerFormatError, match="w\\(i,j\\)"):
        parse_kernel_entry(bad)


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)) | st.just(0), min_size=1, max_size=9))
def test_unquoted_flow_rows_are_repaired(entries):
    text = "[" + ", ".join("0" if e == 0 else f"w({e[0]},{e[1]})" for e in entries) + "]"
    parsed = yaml.safe_load(text)
    assert [parse_kernel_entry(e) for e in repair_split_entries(parsed)] == entries


def test_repair_leaves_well_formed_rows_alone():
    row = ["w(2,2)", 0, "w22", "w[1][0]"]
    assert repair_split_entries(row) == row


def test_unrepairable_rows_say_how_to_quote():
    with pytest.raises(AnswerFormatError, match='quote each kernel element'):
        repair_split_entries(["w(2", 0.5, [1]])
    with pytest.raises(AnswerFormatError, match="unclosed bracket"):
        repair_split_entries([0, "w(2"])


def test_read_conv_answer_checks_shape_and_names_the_row():
    with pytest.raises(AnswerFormatError, match="expected 4x9"):
        read_conv_answer([[0] * 9] * 3, (4, 9))
    with pytest.raises(AnswerFormatError, match="different lengths"):
        read_conv_answer([[0] * 9, [0] * 8], (2, 9))
    with pytest.raises(AnswerFormatError, match="row 1"):
        read_conv_answer([[0] * 2, [0, "v(1,1)"]], (2, 2))
    with pytest.raises(AnswerFormatError, match="list of rows"):
        read_conv_answer("w(0,0)", (1, 1))


def test_linear_region_table_for_vector_points():
    weights, biases = [np.array([[1.0, -1.0], [2.0, 0.0]]), np.array([[1.0, 1.0]])], [np.zeros(2), np.array([0.5])]
    (row,) = linear_region_table(weights, biases, [[1.0, 3.0]])
    np.testing.assert_allclose(row["W"] @ np.array([1.0, 3.0]) + row["b"], row["h"])
    np.testing.assert_allclose(row["W"], [[2.0, 0.0]])


def test_written_answers_read_back_as_the_reference_answers():
    from reference.theory import (
        linear_region_answer,
        read_conv_grid,
        read_linear_region_answer,
        write_conv_grid,
        write_linear_region_answer,
    )

    grid = conv_matrix_symbolic((3, 3), (3, 3), stride=4, padding=2)
    assert read_conv_grid(yaml.safe_load(yaml.safe_dump(write_conv_grid(grid)))) == grid
    network = {"weights": [[[1.5], [0.5]], [[1, 2], [2, 1]], [[1, 1]]], "biases": [[0, 1], [0, 1], [-1]]}
    entries = [entry for x0 in (2, -1) for entry in write_linear_region_answer(linear_region_answer(x0=x0, **network), x0=x0, **network)]
    read = read_linear_region_answer(yaml.safe_load(yaml.safe_dump(entries)), x0=-1, **network)
    assert read["W"].tolist() == [[1.5]] and read["b"].tolist() == [3.0]
