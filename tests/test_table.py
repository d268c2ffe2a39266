"""The command line's table reader (gmmkit._table), tried with odd but real files.

Oracle for the values: numpy/pandas reading the same numbers; for errors, the
line and column a person counting lines in an editor would name.
"""

import gzip
import io

import numpy as np
import pytest

from gmmkit import DataError, InvalidParameterError
from gmmkit._table import (
    CSVFile,
    check_output_suffix,
    quote,
    read_table,
    sniff_csv,
    write_table,
)

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")


def grid(n=30, d=2, seed=0):
    return np.random.RandomState(seed).randn(n, d).round(6)


def csv_text(X, names=("x", "y"), sep=",", end="\n"):
    lines = [sep.join(names)] + [sep.join(repr(float(v)) for v in row) for row in X]
    return end.join(lines) + end


def read_bytes(data: bytes, tmp_path, name="d.csv", **kw):
    path = tmp_path / name
    path.write_bytes(data)
    return read_table(path, **kw)


class BytesStdin:
    """A stand-in for sys.stdin: text stream with a .buffer of bytes."""

    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)


def from_stdin(data: bytes, **kw):
    return read_table("-", stdin=BytesStdin(data), **kw)


# ------------------------------------------------------------- good files
def test_plain_csv_matches_pandas(tmp_path):
    X = grid()
    table = read_bytes(csv_text(X).encode(), tmp_path)
    assert table.feature_names == ["x", "y"] and table.has_names
    np.testing.assert_array_equal(table.X, pd.read_csv(tmp_path / "d.csv").to_numpy())


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["LF", "CRLF"])
@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters_and_line_ends_are_sniffed(tmp_path, sep, end):
    X = grid()
    table = read_bytes(csv_text(X, sep=sep, end=end).encode(), tmp_path, "d.txt")
    np.testing.assert_array_equal(table.X, X)
    assert table.feature_names == ["x", "y"]


def test_quoted_fields_and_a_quoted_text_column(tmp_path):
    data = 'name,"x","y"\n"a, b","1.5",2\n"c ""d""",3,"4"\n"e",5,6\n'
    table = read_bytes(data.encode(), tmp_path)
    np.testing.assert_array_equal(table.X, [[1.5, 2], [3, 4], [5, 6]])
    assert table.feature_names == ["x", "y"]
    assert "leaving out text column 'name'" in table.notices[0]


def test_trailing_delimiter_on_every_line(tmp_path):
    X = grid(5)
    text = "".join(line + ",\n" for line in csv_text(X).splitlines())
    table = read_bytes(text.encode(), tmp_path)
    np.testing.assert_array_equal(table.X, X)
    assert table.feature_names == ["x", "y"] and table.notices == []


def test_trailing_delimiter_on_data_rows_only(tmp_path):
    X = grid(5)
    lines = csv_text(X).splitlines()
    text = lines[0] + "\n" + "".join(line + ",\n" for line in lines[1:])
    table = read_bytes(text.encode(), tmp_path)
    np.testing.assert_array_equal(table.X, X)
    assert table.feature_names == ["x", "y"]


def test_trailing_delimiter_on_the_header_only(tmp_path):
    X = grid(5)
    lines = csv_text(X).splitlines()
    text = lines[0] + ",\n" + "\n".join(lines[1:]) + "\n"
    table = read_bytes(text.encode(), tmp_path)
    np.testing.assert_array_equal(table.X, X)
    assert table.feature_names == ["x", "y"]


def test_blank_lines_and_padding_are_ignored(tmp_path):
    data = "\n\n x , y \n 1 , 2 \n\n3,4\n\n"
    table = read_bytes(data.encode(), tmp_path)
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])
    assert table.feature_names == ["x", "y"]


def test_headerless_file_gets_x_names(tmp_path):
    table = read_bytes(b"1,2\n3,4\n", tmp_path)
    assert table.feature_names == ["x0", "x1"] and not table.has_names
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])


def test_forced_header_and_no_header(tmp_path):
    assert read_bytes(b"1,2\n3,4\n", tmp_path, header=True).feature_names == ["1", "2"]
    with pytest.raises(DataError, match=r"line 1, column 'x0': 'a' is not a number"):
        read_bytes(b"a,b\n3,4\n", tmp_path, header=False, columns=[0, 1])


def test_gzip_file_by_extension_and_by_content(tmp_path):
    X = grid()
    packed = gzip.compress(csv_text(X).encode())
    np.testing.assert_array_equal(read_bytes(packed, tmp_path, "d.csv.gz").X, X)
    np.testing.assert_array_equal(read_bytes(packed, tmp_path, "d.csv").X, X)
    tsv = gzip.compress(csv_text(X, sep="\t").encode())
    np.testing.assert_array_equal(read_bytes(tsv, tmp_path, "d.tsv.gz").X, X)


def test_columns_by_name_and_index(tmp_path):
    X = grid(10, 3)
    path = tmp_path / "d.csv"
    path.write_text(csv_text(X, names=("a", "b", "c")))
    np.testing.assert_array_equal(read_table(path, ["c", "a"]).X, X[:, [2, 0]])
    np.testing.assert_array_equal(read_table(path, [1]).X, X[:, [1]])


def test_more_rows_than_the_head_and_an_error_far_down(tmp_path):
    X = grid(5000)
    lines = csv_text(X).splitlines()
    np.testing.assert_array_equal(read_bytes(csv_text(X).encode(), tmp_path).X, X)
    lines[4321] = "1.0,oops"
    with pytest.raises(DataError) as err:
        read_bytes(("\n".join(lines) + "\n").encode(), tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'd.csv'} line 4322, column 'y': 'oops' is not a number."
    )


# ---------------------------------------------------------- standard input
def test_stdin_csv_with_bom_is_read_like_a_file(tmp_path):
    X = grid()
    data = b"\xef\xbb\xbf" + csv_text(X, names=("x1", "x2")).encode()
    table = from_stdin(data)
    assert table.feature_names == ["x1", "x2"] and table.source == "<stdin>"
    np.testing.assert_array_equal(table.X, X)
    assert read_bytes(data, tmp_path).feature_names == ["x1", "x2"]


def test_stdin_non_utf8_is_a_located_error(tmp_path):
    data = b"x,y\n1,2\n3,4\n" + b"5,\xff\n"
    with pytest.raises(DataError, match=r"<stdin> line 4: byte 0xff is not UTF-8"):
        from_stdin(data)
    with pytest.raises(DataError, match=r"d.csv line 4: byte 0xff is not UTF-8"):
        read_bytes(data, tmp_path)
    head = b"x,\xe9\n1,2\n"  # latin-1 in the header
    with pytest.raises(DataError, match=r"line 1: byte 0xe9 is not UTF-8"):
        from_stdin(head)


def test_stdin_text_stream_without_buffer():
    table = read_table("-", stdin=io.StringIO("x,y\n1,2\n"))
    np.testing.assert_array_equal(table.X, [[1, 2]])


def test_stdin_every_format(tmp_path):
    X = grid()
    assert from_stdin(csv_text(X, sep="\t").encode()).X.shape == (30, 2)
    assert from_stdin(csv_text(X, sep="\t").encode(), fmt="tsv").X.shape == (30, 2)
    np.testing.assert_array_equal(from_stdin(gzip.compress(csv_text(X).encode())).X, X)
    buf = io.BytesIO()
    np.save(buf, X)
    np.testing.assert_array_equal(from_stdin(buf.getvalue()).X, X)
    np.testing.assert_array_equal(from_stdin(buf.getvalue(), fmt="npy").X, X)
    pd.DataFrame(X, columns=["u", "v"]).to_parquet(tmp_path / "d.parquet")
    raw = (tmp_path / "d.parquet").read_bytes()
    table = from_stdin(raw)
    assert table.feature_names == ["u", "v"]
    np.testing.assert_array_equal(table.X, X)
    np.testing.assert_array_equal(from_stdin(raw, fmt="parquet").X, X)


# -------------------------------------------------------------- bad files
@pytest.mark.parametrize("data", [b"", b"\n\n  \n"], ids=["empty", "blank"])
def test_empty_file(tmp_path, data):
    with pytest.raises(DataError, match="is empty: no rows of data"):
        read_bytes(data, tmp_path)
    with pytest.raises(DataError, match="<stdin> is empty"):
        from_stdin(data)


def test_header_only(tmp_path):
    with pytest.raises(DataError, match="has a header but no rows of data"):
        read_bytes(b"x,y\n", tmp_path)
    with pytest.raises(DataError, match="has a header but no rows of data"):
        read_bytes(b"x,y\n", tmp_path, header=True)


def test_units_row_names_its_line(tmp_path):
    X = grid()
    lines = csv_text(X).splitlines()
    lines.insert(1, "cm,kg")
    with pytest.raises(DataError) as err:
        read_bytes(("\n".join(lines) + "\n").encode(), tmp_path)
    msg = str(err.value)
    assert "line 2, column 'x': 'cm' is not a number" in msg
    assert "units row" in msg


def test_repeated_header_names_its_line(tmp_path):
    X = grid(10)
    text = csv_text(X) + csv_text(X)  # two files concatenated
    with pytest.raises(DataError) as err:
        read_bytes(text.encode(), tmp_path)
    assert "line 12, column 'x': 'x' is not a number; the line repeats the header" in (
        str(err.value)
    )


def test_duplicate_column_names(tmp_path):
    with pytest.raises(DataError, match=r"line 1: the header names column 'x' twice"):
        read_bytes(b"x,x\n1,2\n3,4\n", tmp_path)
    table = read_bytes(b"x,x\n1,2\n3,4\n", tmp_path, columns=[0, 1])
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])
    # a duplicated text column that is left out does not matter
    table = read_bytes(b"n,n,v\na,b,1\nc,d,2\n", tmp_path)
    assert table.feature_names == ["v"]


def test_decimal_commas_say_so(tmp_path):
    data = "x;y\n" + "".join(f"{i},5;{i},25\n" for i in range(10))
    with pytest.raises(DataError, match="decimal comma"):
        read_bytes(data.encode(), tmp_path)
    # one decimal comma in a numeric column: located, with the hint
    data = "x;y\n" + "".join(f"{i}.5;{i}\n" for i in range(30)) + "1,5;2\n"
    with pytest.raises(
        DataError, match=r"line 32, column 'x': '1,5' is not a number; a"
    ):
        read_bytes(data.encode(), tmp_path)


def test_ragged_rows(tmp_path):
    with pytest.raises(DataError) as err:
        read_bytes(b"x,y\n1,2\n3\n4,5\n", tmp_path)
    assert "line 3: 1 fields, expected 2 (as in the header on line 1)" in str(err.value)
    with pytest.raises(DataError, match="line 2: 3 fields, expected 2"):
        read_bytes(b"1,2\n3,4,5\n", tmp_path)


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path):
    data = b'note,x\n"two\nlines",1\nb,2\n\nok,abc\n'
    with pytest.raises(DataError, match=r"line 6, column 'x': 'abc' is not a number"):
        read_bytes(data, tmp_path)


def test_enormous_cells_are_quoted_in_part(tmp_path):
    big = "9" * 50 + "z" * 100_000
    data = "x,y\n" + "1,2\n" * 60 + f"3,{big}\n"
    with pytest.raises(DataError) as err:
        read_bytes(data.encode(), tmp_path)
    msg = str(err.value)
    assert len(msg) < 300 and "(100050 characters)" in msg and "line 62" in msg
    # in a text column: left out, and the notice is short
    data = "name,x\n" + "".join(f"{'w' * 100_000},{i}\n" for i in range(3))
    table = read_bytes(data.encode(), tmp_path)
    assert table.feature_names == ["x"] and len(table.notices[0]) < 300


def test_an_enormous_first_line_is_read(tmp_path):
    data = "a,x\n" + "".join(f"{'w' * 300_000},{i}\n" for i in range(3))
    assert read_bytes(data.encode(), tmp_path).X.ravel().tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "cell, message",
    [
        ("NA", "missing value ('NA')"),
        ("", "missing value ('')"),
        ("nan", "missing value ('nan')"),
        ("inf", "'inf' is not a finite number"),
        ("-Infinity", "'-Infinity' is not a finite number"),
        ("1_000", "'1_000' is not a number"),
        ("0x10", "'0x10' is not a number"),
        ("\u0661\u0662", "'\u0661\u0662' is not a number"),
        ("true", "'true' is not a number"),
    ],
)
def test_cells_pandas_would_not_read_as_numbers(tmp_path, cell, message):
    data = "x,y\n" + "1,2\n" * 30 + f"3,{cell}\n"
    with pytest.raises(DataError) as err:
        read_bytes(data.encode(), tmp_path)
    assert f"line 32, column 'y': {message}" in str(err.value)


def test_text_column_rule_is_the_majority_of_the_head(tmp_path):
    # mostly text: left out with a notice; one word in numbers: an error
    data = "id,v\n" + "".join(f"r{i},{i}\n" for i in range(25))
    table = read_bytes(data.encode(), tmp_path)
    assert table.feature_names == ["v"]
    assert table.notices == [
        f"{tmp_path / 'd.csv'}: leaving out text column 'id' (value 'r0' on line 2); "
        "choose columns with --columns."
    ]
    with pytest.raises(DataError, match=r"line 2, column 'id': 'r0' is not a number"):
        read_bytes(data.encode(), tmp_path, columns=["id"])


def test_no_numeric_columns(tmp_path):
    with pytest.raises(DataError, match="has no numeric columns"):
        read_bytes(b"a,b\nx,y\nz,w\n", tmp_path)


def test_bad_options():
    with pytest.raises(InvalidParameterError, match="one character"):
        read_table("-", delimiter=";;", stdin=io.StringIO("1;2\n"))
    with pytest.raises(InvalidParameterError, match="--format"):
        read_table("-", fmt="xls", stdin=io.StringIO("1;2\n"))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


def test_binary_file_named_csv(tmp_path):
    with pytest.raises(DataError, match="is not UTF-8 text"):
        read_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe" * 10, tmp_path)


# ---------------------------------------------------------------- sniffing
def test_sniff_csv_gives_the_layout():
    layout = sniff_csv("id;a;b\nr1;1,5;2\nr2;3,5;4\n", "t", complete=True)
    assert layout.delimiter == ";" and layout.has_header
    assert layout.names == ["id", "a", "b"] and layout.skip_rows == 1
    assert set(layout.text_columns) == {0, 1}
    chosen, notices = layout.choose(None, "t")
    assert chosen == [2] and len(notices) == 2


def test_quote_caps_long_values():
    assert quote("abc") == "'abc'"
    assert quote("a" * 1000).endswith("... (1000 characters)")
    assert len(quote("a" * 1000)) < 70


# ------------------------------------------------------------------ output
def test_write_table_formats(tmp_path):
    cols = {"label": np.array([0, 1, 2]), "p": np.array([0.1, 1 / 3, 1e-300])}
    write_table(tmp_path / "o.csv", cols)
    back = pd.read_csv(tmp_path / "o.csv")
    assert list(back.columns) == ["label", "p"]
    np.testing.assert_array_equal(back["p"].to_numpy(), cols["p"])  # round trip
    write_table(tmp_path / "o.tsv", cols)
    assert (tmp_path / "o.tsv").read_text().splitlines()[0] == "label\tp"
    write_table(tmp_path / "o.parquet", cols)
    np.testing.assert_array_equal(
        pd.read_parquet(tmp_path / "o.parquet")["p"], cols["p"]
    )
    out = io.StringIO()
    write_table(None, cols, stdout=out)
    assert out.getvalue().splitlines()[:2] == ["label,p", "0,0.1"]


@pytest.mark.parametrize("name", ["p.xlsx", "p.json", "p.csv.gz"])
def test_unknown_output_extensions_are_refused(tmp_path, name):
    with pytest.raises(InvalidParameterError, match=r"\.csv, \.txt, \.tsv"):
        write_table(tmp_path / name, {"a": np.arange(3)})
    assert not (tmp_path / name).exists()
    with pytest.raises(InvalidParameterError):
        check_output_suffix(name)


# -------------------------------------------------------------- streaming
def test_batches_give_the_rows_of_read(tmp_path):
    X = grid(20_000, 3)
    path = tmp_path / "d.csv"
    rows = "".join(
        f"r{i}," + ",".join(map(repr, r)) + "\n" for i, r in enumerate(X.tolist())
    )
    path.write_text("id,a,b,c\n" + rows)
    whole = CSVFile(path).read()
    assert whole.feature_names == ["a", "b", "c"]
    csv_file = CSVFile(path, ["c", "a"])
    parts = list(csv_file.batches(block_bytes=64 * 1024))
    assert len(parts) > 5
    np.testing.assert_array_equal(np.vstack(parts), whole.X[:, [2, 0]])
    np.testing.assert_array_equal(np.vstack(list(csv_file.batches())), X[:, [2, 0]])


def test_batches_locate_an_error_in_a_later_block(tmp_path):
    X = grid(20_000)
    lines = csv_text(X).splitlines()
    lines[15_000] = "1.0,NA"
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    batches = CSVFile(path).batches(block_bytes=64 * 1024)
    with pytest.raises(DataError, match=r"line 15001, column 'y': missing value"):
        for _ in batches:
            pass


def test_batches_of_a_header_only_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n")
    with pytest.raises(DataError, match="header but no rows"):
        list(CSVFile(path, header=True).batches())


def test_stdin_that_is_a_terminal_is_refused():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    with pytest.raises(InvalidParameterError, match="nothing is piped in"):
        read_table("-", stdin=Terminal("x\n"))
