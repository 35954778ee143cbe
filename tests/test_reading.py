"""exchange/reading.py: import files read safely — only regular files, encodings detected or
given, CSV and JSON shapes, per-row problems — and, for any bytes, a table or one sentence
naming the file (never another exception)."""

from __future__ import annotations

import codecs
import csv
import os
import signal
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pipecli.errors import PipeError, UsageError
from pipecli.exchange import reading
from pipecli.exchange.reading import Record, read_table

CP1252_NOTE = ("{} is not UTF-8; read as Windows-1252 (cp1252) — say --encoding to choose "
               "another")


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def refused(path: Path, **kwargs) -> str:
    """The one sentence read_table refuses a file with (it must start with the name)."""
    with pytest.raises(PipeError) as e:
        read_table(path, **kwargs)
    message = str(e.value)
    assert message.startswith(path.name), message
    assert "\n" not in message and e.value.__cause__ is None
    return message


def rows(table) -> list[tuple[int, dict, str]]:
    return [(r.line, r.cells, r.problem) for r in table.records]


# -- which files are read ---------------------------------------------------------------------

def test_a_symbolic_link_is_refused_even_to_a_good_file(tmp_path):
    target = write(tmp_path, "real.csv", "name\nAcme\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert refused(link) == "link.csv is a symbolic link; give the file it points to"
    assert rows(read_table(target)) == [(2, {"name": "Acme"}, "")]


def test_a_link_swapped_in_after_the_check_is_refused_by_the_open(tmp_path, monkeypatch):
    target = write(tmp_path, "real.csv", "name\nAcme\n")
    link = tmp_path / "swapped.csv"
    link.symlink_to(target)
    regular = os.stat(target)
    monkeypatch.setattr(reading.os, "lstat", lambda path: regular)  # the race, won
    assert refused(link) == "swapped.csv is a symbolic link; give the file it points to"


def test_a_folder_a_device_and_a_missing_file_are_refused(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    assert refused(tmp_path / "folder.csv") == "folder.csv is a folder, not a file"
    assert refused(tmp_path / "gone.csv") == "gone.csv does not exist"
    with pytest.raises(PipeError, match=r"^a\\x00b\.csv cannot be read \(embedded null byte\)$"):
        read_table(tmp_path / "a\0b.csv")
    if os.path.exists("/dev/null"):
        with pytest.raises(PipeError, match=r"^null is a device, not a regular file$"):
            read_table(Path("/dev/null"))


class _Hung(BaseException):
    """Raised by the alarm: a BaseException, so no `except OSError` can swallow it."""


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    def hung(*_):
        raise _Hung("reading a FIFO blocked")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(5)
    try:
        assert refused(fifo) == "pipe.csv is a named pipe (FIFO), not a regular file"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_an_unreadable_file_is_refused(tmp_path):
    path = write(tmp_path, "secret.csv", "name\nAcme\n")
    path.chmod(0)
    try:
        assert refused(path) == "secret.csv cannot be read (Permission denied)"
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = write(tmp_path, "big.csv", "name\n" + "Acme\n" * 100)
    monkeypatch.setattr(reading, "MAX_BYTES", 100)
    assert refused(path) == "big.csv is 0.0 GiB; files over 1 GiB are not read (split it)"
    monkeypatch.setattr(reading, "MAX_BYTES", 1 << 30)
    assert len(read_table(path).records) == 100


# -- encodings ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["foo", "", "utf-8\0", "x" * 300])
def test_an_unknown_encoding_is_a_usage_error(tmp_path, name):
    path = write(tmp_path, "a.csv", "name\nAcme\n")
    with pytest.raises(UsageError) as e:
        read_table(path, encoding=name)
    assert str(e.value) == f"--encoding {name!r} is not an encoding Python knows"
    assert e.value.exit_code == 2


@pytest.mark.parametrize("name", ["base64", "rot13", "zlib", "hex"])
def test_a_codec_that_is_not_a_text_encoding_is_a_usage_error(tmp_path, name):
    path = write(tmp_path, "a.csv", "name\nAcme\n")
    with pytest.raises(UsageError, match=f"^--encoding '{name}' is not a text encoding$"):
        read_table(path, encoding=name)


def test_a_given_encoding_is_used_and_its_errors_name_the_byte(tmp_path):
    path = write(tmp_path, "a.csv", "name\nCafé\n".encode("latin-1"))
    table = read_table(path, encoding="latin-1")
    assert (table.encoding, table.note, rows(table)) == \
        ("iso8859-1", "", [(2, {"name": "Café"}, "")])
    assert refused(path, encoding="ascii") == \
        "a.csv: the byte at offset 8 is not valid ascii text"
    assert refused(path, encoding="utf-8") == \
        "a.csv: the byte at offset 8 is not valid utf-8 text"


def test_a_given_encoding_drops_a_byte_order_mark(tmp_path):
    utf8 = write(tmp_path, "a.csv", codecs.BOM_UTF8 + b"name\nAcme\n")
    assert read_table(utf8, encoding="utf-8").headers == ["name"]
    wide = write(tmp_path, "b.csv", codecs.BOM_UTF16_LE + "name\nAcme\n".encode("utf-16-le"))
    assert read_table(wide, encoding="utf-16-le").headers == ["name"]
    bare = write(tmp_path, "c.csv", "name\nAcme\n".encode("utf-16-be"))
    assert rows(read_table(bare, encoding="utf-16-be")) == [(2, {"name": "Acme"}, "")]


def test_a_codec_that_fails_without_a_position_is_one_sentence(tmp_path):
    path = write(tmp_path, "a.csv", b"name\nAcme\n")
    assert refused(path, encoding="undefined") == ("a.csv is not valid undefined text (decoding "
                                                   "with 'undefined' codec failed (UnicodeError: "
                                                   "undefined encoding))")


def test_a_given_codec_that_makes_unpaired_surrogates_is_refused(tmp_path):
    path = write(tmp_path, "a.csv", b"name\n+2AA-\n")
    assert refused(path, encoding="utf-7") == \
        "a.csv: character 5 is an unpaired surrogate, which is not text"


@pytest.mark.parametrize("data, codec", [
    ("name,value\nCafé,1\n".encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + "name,value\nCafé,1\n".encode("utf-8"), "utf-8-sig"),
    ("name,value\nCafé,1\n".encode("utf-16"), "utf-16"),
    (codecs.BOM_UTF16_BE + "name,value\nCafé,1\n".encode("utf-16-be"), "utf-16"),
    (codecs.BOM_UTF32_LE + "name,value\nCafé,1\n".encode("utf-32-le"), "utf-32"),
    (codecs.BOM_UTF32_BE + "name,value\nCafé,1\n".encode("utf-32-be"), "utf-32"),
])
def test_utf8_and_byte_order_marks_are_detected(tmp_path, data, codec):
    table = read_table(write(tmp_path, "a.csv", data))
    assert (table.encoding, table.note) == (codec, "")
    assert table.headers == ["name", "value"]  # no mark left in the first name
    assert rows(table) == [(2, {"name": "Café", "value": "1"}, "")]


def test_text_that_is_not_utf8_is_read_as_cp1252_and_says_so(tmp_path):
    path = write(tmp_path, "old.csv", b"name,value\nCaf\xe9 \x80,1\r\nNa\xefve,2\r\n")
    table = read_table(path)
    assert (table.encoding, table.note) == ("cp1252", CP1252_NOTE.format("old.csv"))
    assert [r.cells["name"] for r in table.records] == ["Café €", "Naïve"]


@pytest.mark.parametrize("undefined", [0x81, 0x8D, 0x8F, 0x90, 0x9D])
def test_bytes_cp1252_leaves_undefined_are_refused(tmp_path, undefined):
    path = write(tmp_path, "odd.csv", b"name\nCaf\xe9" + bytes([undefined]) + b"\n")
    assert refused(path) == ("odd.csv is neither UTF-8 nor Windows-1252 text (byte at offset "
                             "8); say --encoding")


def test_damaged_utf8_is_not_read_as_cp1252(tmp_path):
    damaged = write(tmp_path, "d.csv", "name\nCafé\n".encode() + b"Caf\xe9\n")
    assert refused(damaged) == ("d.csv: the byte at offset 14 is not valid UTF-8 text, though "
                                "the text before it is (is the file damaged?); say --encoding "
                                "if it is not UTF-8")
    cut = write(tmp_path, "c.csv", "name\nCafé\nCafé".encode()[:-1])
    assert refused(cut) == ("c.csv: the byte at offset 14 is not valid UTF-8 text, though the "
                            "text before it is (the file ends inside a character: is it cut "
                            "short?); say --encoding if it is not UTF-8")


def test_garbage_after_a_byte_order_mark_is_refused_with_its_offset(tmp_path):
    utf8 = write(tmp_path, "a.csv", codecs.BOM_UTF8 + b"name\n\xff\n")
    assert refused(utf8) == ("a.csv: the byte at offset 8 is not valid UTF-8 text (the file "
                             "starts with a UTF-8 byte-order mark)")
    odd = write(tmp_path, "b.csv", codecs.BOM_UTF16_LE + "name\n".encode("utf-16-le") + b"x")
    assert refused(odd) == ("b.csv: the byte at offset 12 is not valid UTF-16 text (the file "
                            "starts with a UTF-16 byte-order mark)")


def test_a_nul_byte_means_a_binary_file(tmp_path):
    path = write(tmp_path, "bin.csv", b"name\nAc\x00me\n")
    assert refused(path) == "bin.csv is a binary file (a NUL byte at offset 7), not CSV or " \
                            "JSON text"
    assert "NUL byte at offset 6" in refused(write(tmp_path, "b.csv", b"\xef\xbb\xbfnam\x00"))
    wide = write(tmp_path, "w.csv", "\U0001F600\0name\n".encode("utf-16"))
    assert refused(wide) == "w.csv is a binary file (it holds a NUL character), not CSV or " \
                            "JSON text"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_mark_is_named(tmp_path, codec):
    path = write(tmp_path, "w.csv", "name,value\nAcme,1\n".encode(codec))
    assert refused(path) == (f"w.csv holds NUL bytes, as UTF-16 text without a byte-order "
                             f"mark does; say --encoding {codec} if that is what it is")
    assert rows(read_table(path, encoding=codec)) == [(2, {"name": "Acme", "value": "1"}, "")]


@pytest.mark.parametrize("data", [b"", codecs.BOM_UTF8, b" \r\n\t\n", codecs.BOM_UTF16_LE,
                                  codecs.BOM_UTF8 + b"\n\n"])
def test_an_empty_file_is_refused(tmp_path, data):
    assert refused(write(tmp_path, "e.csv", data)) == "e.csv is empty"
    assert refused(write(tmp_path, "e.json", data)) == "e.json is empty"


def test_an_unprintable_file_name_is_escaped_in_the_message(tmp_path):
    path = write(tmp_path, "a\x1b[31m.csv", b"")
    with pytest.raises(PipeError) as e:
        read_table(path)
    assert str(e.value) == "a\\x1b[31m.csv is empty"


# -- CSV ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_the_one_the_header_uses(tmp_path, delimiter):
    other = "," if delimiter != "," else ";"
    text = delimiter.join(["id", "name", "value"]) + "\n" + \
        delimiter.join(["1", f"A{other}B", "12,50" if delimiter != "," else "12"]) + "\n"
    table = read_table(write(tmp_path, "a.csv", text))
    assert table.delimiter == delimiter
    assert table.headers == ["id", "name", "value"]
    assert table.records[0].cells["name"] == f"A{other}B"


def test_delimiters_inside_quoted_header_names_do_not_count(tmp_path):
    table = read_table(write(tmp_path, "a.csv", '"a;b;c";"d,e";f\n1;2;3\n'))
    assert (table.delimiter, table.headers) == (";", ["a;b;c", "d,e", "f"])
    single = read_table(write(tmp_path, "b.csv", "name\nAcme, Inc.\n"))
    assert (single.delimiter, rows(single)) == (",", [(2, {}, "has 2 cells, the header has 1")])


@pytest.mark.parametrize("header", ["\nname\nAcme\n", ",,,\n1,2,3,\n", " , \n"])
def test_a_header_without_names_is_refused(tmp_path, header):
    assert refused(write(tmp_path, "h.csv", header)) == \
        "h.csv: the header (line 1) has no column names"


@pytest.mark.parametrize("header, twice, columns", [
    ("id,name,id\n", "id", (1, 3)), ("name, name\n", "name", (1, 2)),
    ("a;b;c;b\n", "b", (2, 4)),
])
def test_a_header_name_given_twice_is_kept_apart_and_noted(tmp_path, header, twice,
                                                            columns):
    delimiter = ";" if ";" in header else ","
    cells = delimiter.join(str(n) for n in range(header.count(delimiter) + 1))
    table = read_table(write(tmp_path, "h.csv", header + cells + "\n"))
    assert table.twice == {twice: f"columns {columns[0]} and {columns[1]}"}
    assert f"{twice} (2)" in table.headers
    assert table.records[0].cells[f"{twice} (2)"] == str(columns[1] - 1)


def test_a_nameless_column_is_dropped_unless_it_holds_data(tmp_path):
    table = read_table(write(tmp_path, "a.csv", "name,,value,\nAcme,,1,\nBeta, ,2,\n"))
    assert table.headers == ["name", "value"]
    assert rows(table) == [(2, {"name": "Acme", "value": "1"}, ""),
                           (3, {"name": "Beta", "value": "2"}, "")]
    assert refused(write(tmp_path, "b.csv", "name,,value\nAcme,,1\nBeta,oops,2\n")) == \
        "b.csv: column 2 has no name in the header (line 1), but line 3 has data in it"


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_every_line_ending_and_rows_that_span_lines(tmp_path, ending):
    text = ending.join(["id,name,note", '1,Acme,"two', 'lines"', "", '2,"Beta ""B""",x',
                        ",,", "3,Gamma,"]) + ending
    table = read_table(write(tmp_path, "a.csv", text))
    assert rows(table) == [
        (2, {"id": "1", "name": "Acme", "note": f"two{ending}lines"}, ""),
        (5, {"id": "2", "name": 'Beta "B"', "note": "x"}, ""),
        (7, {"id": "3", "name": "Gamma", "note": ""}, ""),
    ]


def test_mixed_line_endings_count_lines_as_written(tmp_path):
    data = b"name,value\r\nAcme,1\rBeta,2\nGamma,3\r\n\rDelta,4"
    assert [(r.line, r.cells["name"]) for r in read_table(write(tmp_path, "a.csv", data)).records
            ] == [(2, "Acme"), (3, "Beta"), (4, "Gamma"), (6, "Delta")]


def test_a_row_with_another_cell_count_is_a_problem_of_that_row(tmp_path):
    table = read_table(write(tmp_path, "a.csv", "id,name,value\n1,Acme\n2,Beta,3\n3,C,4,5\n"))
    assert rows(table) == [(2, {}, "has 2 cells, the header has 3"),
                           (3, {"id": "2", "name": "Beta", "value": "3"}, ""),
                           (4, {}, "has 4 cells, the header has 3")]


def test_a_header_only_file_has_no_records(tmp_path):
    table = read_table(write(tmp_path, "a.csv", "id,name\n"))
    assert (table.headers, len(table.records)) == (["id", "name"], 0)


def test_a_cell_over_the_limit_is_a_problem_naming_its_column(tmp_path):
    big = "x" * (200 * 1024)
    path = write(tmp_path, "a.csv", f'id,note,name\n1,"{big}",Acme\n2,ok,Beta\n3,{"y" * 10},C\n')
    limit = csv.field_size_limit()
    table = read_table(path)
    # only a problem for an import that uses the column: the row's other cells stay
    assert rows(table)[0] == (2, {"id": "1", "note": "", "name": "Acme"}, "")
    assert table.records[0].bad == {"note": "holds 204,800 characters; the limit is 131,072"}
    assert rows(table)[1] == (3, {"id": "2", "note": "ok", "name": "Beta"}, "")
    assert rows(read_table(path, max_cell=10))[2][2] == ""  # exactly the limit is fine
    assert read_table(path, max_cell=9).records[2].bad == \
        {"note": "holds 10 characters; the limit is 9"}
    wide = read_table(path, max_cell=300 * 1024)
    assert wide.records[0].cells["note"] == big
    assert csv.field_size_limit() == limit  # the process-wide limit is put back


def test_a_header_name_over_the_limit_is_refused(tmp_path):
    path = write(tmp_path, "a.csv", "id," + "n" * 20 + "\n1,2\n")
    assert refused(path, max_cell=10) == ("a.csv: the name of column 2 in the header is 20 "
                                          "characters long; the limit is 10")


@pytest.mark.parametrize("text, message", [
    ('id,name\n1,"Acme\n2,Beta\n', "a.csv: a quote in the row that starts on line 2 is never "
                                   "closed (the file ends inside it)"),
    ('id,"name\n', "a.csv: a quote in the row that starts on line 1 is never closed (the file "
                   "ends inside it)"),
    ('id,name\n1,Acme\n2,"Be"ta\n', 'a.csv: line 3 is not valid CSV: text follows a closing '
                                    'quote (a quote inside a quoted cell is written twice, "")'),
])
def test_broken_quoting_refuses_the_file_with_its_line(tmp_path, text, message):
    assert refused(write(tmp_path, "a.csv", text)) == message


def test_control_characters_are_returned_unchanged(tmp_path):
    name = "\x1b[31mRed\x1b[0m \u202eevil \u200b\x7f\x85"
    table = read_table(write(tmp_path, "a.csv", f"name,note\n{name},\"a\x0bb\"\n"))
    assert rows(table) == [(2, {"name": name, "note": "a\x0bb"}, "")]


def test_quoted_and_plain_rows_read_alike(tmp_path):
    table = read_table(write(tmp_path, "a.csv",
                             'a,b,c\n1, 2 ,3\n"1"," 2 ","3"\n" x""y ",,"\t"\n'))
    assert [r.cells for r in table.records] == [{"a": "1", "b": " 2 ", "c": "3"}] * 2 + \
        [{"a": ' x"y ', "b": "", "c": "\t"}]


def test_records_are_a_sequence_read_again_on_demand(tmp_path):
    table = read_table(write(tmp_path, "a.csv", "n\na\nb\nc\n"))
    assert len(table.records) == 3
    assert table.records[-1] == Record(4, {"n": "c"})
    assert [r.cells["n"] for r in table.records[::2]] == ["a", "c"]
    assert list(table.records) == list(table.records)
    with pytest.raises(IndexError):
        table.records[3]


# -- JSON --------------------------------------------------------------------------------------

def test_a_json_array_of_objects_gives_the_line_each_item_starts_on(tmp_path):
    text = '[\n  {"id": "a1", "name": "Acme"},\n  {\n    "name": "Beta",\n    "value": 5\n' \
           '  }, {"id": "c", "extra": true}\n]\n'
    table = read_table(write(tmp_path, "a.json", text))
    assert (table.headers, table.delimiter) == (["id", "name", "value", "extra"], "json")
    assert rows(table) == [
        (2, {"id": "a1", "name": "Acme", "value": "", "extra": ""}, ""),
        (3, {"id": "", "name": "Beta", "value": "5", "extra": ""}, ""),
        (6, {"id": "c", "name": "", "value": "", "extra": "true"}, ""),
    ]


def test_json_numbers_stay_the_text_the_file_wrote(tmp_path):
    digits = "9" * 5000
    text = f'[{{"a": 12.10, "b": 1e400, "c": -0, "d": {digits}, "e": 0.1000000000}}]'
    cells = read_table(write(tmp_path, "a.json", text)).records[0].cells
    assert cells == {"a": "12.10", "b": "1e400", "c": "-0", "d": digits, "e": "0.1000000000"}
    # plain text to any reader, and marked as numbers for the importer's decimal mark
    from pipecli.exchange.reading_json import JsonNumber

    assert all(isinstance(v, str) and isinstance(v, JsonNumber) for v in cells.values())
    strings = read_table(write(tmp_path, "b.json", '[{"a": "12.10"}]')).records[0].cells
    assert not isinstance(strings["a"], JsonNumber)


def test_json_literals_and_lists(tmp_path):
    text = '{"t": true, "f": false, "n": null, "tags": ["a", 2, null, true, "b c"], "e": []}'
    assert rows(read_table(write(tmp_path, "a.json", text))) == \
        [(1, {"t": "true", "f": "false", "n": "", "tags": "a;2;true;b c", "e": ""}, "")]


@pytest.mark.parametrize("value, problem", [
    ('{"x": 1}', "holds a nested object"),
    ('[{"x": 1}]', "holds a nested object"),
    ('[[1, 2]]', "holds a nested list"),
])
def test_a_nested_json_cell_is_unreadable_only_in_its_column(tmp_path, value, problem):
    text = f'[{{"name": "Acme", "v": {value}}}, {{"name": "Beta"}}]'
    first = read_table(write(tmp_path, "a.json", text)).records[0]
    assert (first.cells, first.problem, first.bad) == ({"name": "Acme", "v": ""}, "",
                                                       {"v": problem})


@pytest.mark.parametrize("value, problem", [
    ("NaN", "column 'v' holds NaN, which JSON does not allow"),
    ("Infinity", "column 'v' holds Infinity, which JSON does not allow"),
    ("[-Infinity]", "column 'v' holds -Infinity, which JSON does not allow"),
    ('["a;b"]', "column 'v' holds a list item with ';' in it ('a;b'), and ';' separates the "
                "items"),
    ('"\\ud800"', "column 'v' holds an unpaired surrogate (a \\ud800-\\udfff escape alone), "
                  "which is not text"),
])
def test_a_cell_json_cannot_give_as_text_is_a_problem_of_its_row(tmp_path, value, problem):
    text = f'[{{"name": "Acme", "v": {value}}}, {{"name": "Beta"}}]'
    table = read_table(write(tmp_path, "a.json", text))
    assert table.headers == ["name", "v"]
    assert rows(table) == [(1, {}, problem), (1, {"name": "Beta", "v": ""}, "")]


def test_a_key_given_twice_is_a_problem(tmp_path):
    assert rows(read_table(write(tmp_path, "a.jsonl", '{"a": 1, "b": 2, "a": 3}\n'))) == \
        [(1, {}, "has the key 'a' twice")]


def test_a_paired_surrogate_escape_is_text(tmp_path):
    table = read_table(write(tmp_path, "a.json", '[{"name": "\\ud83d\\ude00 Acme"}]'))
    assert table.records[0].cells["name"] == "\U0001F600 Acme"


def test_control_characters_in_json_are_returned_unchanged(tmp_path):
    text = '[{"name": "\\u001b[31mRed \\u202e", "raw": "a\x1bb"}]'
    assert read_table(write(tmp_path, "a.json", text)).records[0].cells == \
        {"name": "\x1b[31mRed \u202e", "raw": "a\x1bb"}


def test_a_json_cell_over_the_limit_is_a_problem(tmp_path):
    text = '[{"name": "' + "x" * 20 + '"}, {"name": "ok"}]'
    table = read_table(write(tmp_path, "a.json", text), max_cell=10)
    assert rows(table) == [(1, {"name": ""}, ""), (1, {"name": "ok"}, "")]
    assert table.records[0].bad == {"name": "holds 20 characters; the limit is 10"}


@pytest.mark.parametrize("name, text", [
    ("a.json", "[" * 100_000), ("b.json", '{"a": ' * 100_000),
    ("c.json", '[{"a": ' + "[" * 100_000 + "]" * 100_000 + "}]"),
])
def test_json_nested_too_deeply_is_one_sentence(tmp_path, name, text):
    assert refused(write(tmp_path, name, text)) == \
        f"{name}: the JSON on line 1 is nested too deeply"


def test_a_json_line_nested_too_deeply_is_a_problem_of_that_line(tmp_path):
    text = '{"name": "Acme"}\n{"a": ' + "[" * 100_000 + "\n"
    assert rows(read_table(write(tmp_path, "a.jsonl", text))) == \
        [(1, {"name": "Acme"}, ""), (2, {}, "is JSON nested too deeply")]


@pytest.mark.parametrize("name, text, message", [
    ("a.json", "5", "a.json holds no JSON object to read as a row (line 1 is a JSON number, "
                    "not a JSON object)"),
    ("b.json", '"text"', "b.json holds no JSON object to read as a row (line 1 is a JSON "
                         "string, not a JSON object)"),
    ("c.json", "[1, 2, 3]", "c.json holds no JSON object to read as a row (line 1 is a JSON "
                            "number, not a JSON object)"),
    ("d.json", "[\n[1], [2]]", "d.json holds no JSON object to read as a row (line 2 is a JSON "
                               "array, not a JSON object)"),
    ("e.json", "null", "e.json holds no JSON object to read as a row (line 1 is null, not a "
                       "JSON object)"),
    ("f.jsonl", "1\n2\n", "f.jsonl holds no JSON object to read as a row (line 1 is a JSON "
                          "number, not a JSON object)"),
    ("g.jsonl", "id,name\n1,2\n", "g.jsonl holds no JSON object to read as a row (line 1 is "
                                  "not valid JSON (Expecting value))"),
])
def test_json_without_any_object_is_one_sentence(tmp_path, name, text, message):
    assert refused(write(tmp_path, name, text)) == message


def test_items_that_are_not_objects_among_objects_are_problems(tmp_path):
    text = '[{"name": "Acme"},\n 5, "x", [1], null, NaN,\n {"name": "Beta"}]'
    assert rows(read_table(write(tmp_path, "a.json", text))) == [
        (1, {"name": "Acme"}, ""), (2, {}, "is a JSON number, not a JSON object"),
        (2, {}, "is a JSON string, not a JSON object"),
        (2, {}, "is a JSON array, not a JSON object"), (2, {}, "is null, not a JSON object"),
        (2, {}, "is NaN, not a JSON object"), (3, {"name": "Beta"}, "")]


@pytest.mark.parametrize("name, text, message", [
    ("a.json", '[{"a": 1},\n {"a": 2}\n {"a": 3}]',
     "a.json: line 3 is not valid JSON (',' or ']' expected after an item of the array)"),
    ("b.json", '[{"a": 1},\n {"a": }]', "b.json: line 2 is not valid JSON (Expecting value)"),
    ("c.json", '\n[{"a": 1},', "c.json: the JSON array that starts on line 2 is never closed"),
    ("d.json", '[{"a": 1}] [', "d.json: line 1 has more text after the JSON array"),
    ("e.json", "[", "e.json: the JSON array that starts on line 1 is never closed"),
    ("e2.json", '[{"a": 1}', "e2.json: the JSON array that starts on line 1 is never closed"),
    ("f.json", '[{"a": 1},]', "f.json: line 1 is not valid JSON (Expecting value)"),
    ("g.json", '{\n"a": "x', "g.json: line 2 is not valid JSON (Unterminated string starting "
                            "at)"),
    ("h.json", "id,name\n", "h.json: line 1 is not valid JSON (Expecting value)"),
])
def test_broken_json_refuses_the_file_with_its_line(tmp_path, name, text, message):
    assert refused(write(tmp_path, name, text)) == message


def test_one_object_is_one_record_on_one_line_or_many(tmp_path):
    assert rows(read_table(write(tmp_path, "a.json", '{"name": "Acme"}'))) == \
        [(1, {"name": "Acme"}, "")]
    pretty = '\n\n{\n  "name": "Acme",\n  "value": 1\n}\n'
    assert rows(read_table(write(tmp_path, "b.txt", pretty))) == \
        [(3, {"name": "Acme", "value": "1"}, "")]
    two = '{\n  "name": "Acme"\n}\n{"name": "Beta"}\n'
    assert rows(read_table(write(tmp_path, "c.json", two))) == \
        [(1, {"name": "Acme"}, ""), (4, {"name": "Beta"}, "")]


def test_json_lines_read_line_by_line(tmp_path):
    text = '{"id": 1, "name": "Acme"}\r\n\n{"id": 2, "name": \n{"name": "Gamma", "x": 1} {}\n' \
           '  {"id": 4, "tags": ["a", "b"]}  \n'
    for name in ("a.jsonl", "a.ndjson", "a.json", "a.csv"):  # by suffix, or by its first line
        table = read_table(write(tmp_path, name, text))
        assert table.headers == ["id", "name", "tags"]
        assert rows(table) == [
            (1, {"id": "1", "name": "Acme", "tags": ""}, ""),
            (3, {}, "is not valid JSON (Expecting value)"),
            (4, {}, "has text after its JSON value"),
            (5, {"id": "4", "name": "", "tags": "a;b"}, ""),
        ]


def test_json_lines_with_an_array_line_in_a_jsonl_file(tmp_path):
    table = read_table(write(tmp_path, "a.jsonl", '[{"a": 1}]\n{"a": 2}\n'))
    assert rows(table) == [(1, {}, "is a JSON array, not a JSON object"), (2, {"a": "2"}, "")]


def test_an_empty_json_array_is_an_empty_table(tmp_path):
    table = read_table(write(tmp_path, "a.json", " [ ] \n"))
    assert (table.headers, len(table.records)) == ([], 0)


def test_json_in_cp1252_and_utf16(tmp_path):
    table = read_table(write(tmp_path, "a.json", '[{"name": "Café"}]'.encode("cp1252")))
    assert (table.encoding, table.records[0].cells) == ("cp1252", {"name": "Café"})
    table = read_table(write(tmp_path, "b.json", '[{"name": "Café"}]'.encode("utf-16")))
    assert (table.encoding, table.records[0].cells) == ("utf-16", {"name": "Café"})


# -- any bytes ---------------------------------------------------------------------------------

SEEDS = [b"id,name,value\n1,Acme,12.50\n", b'[{"id": "1", "name": "Acme"}]',
         b'{"name": "Acme"}\n{"name": "Beta"}\n', b'"a";"b"\r\n"1";"2"\r\n',
         codecs.BOM_UTF8 + b"a\tb\n1\t2\n", "name\nCafé\n".encode("utf-16")]


def _check_any(tmp_path: Path, name: str, data: bytes) -> None:
    path = write(tmp_path, name, data)
    try:
        table = read_table(path)
    except PipeError as e:
        assert str(e).startswith(path.name) and "\n" not in str(e), str(e)
        return
    for record in table.records:  # reading every row must not fail either
        assert isinstance(record.line, int) and record.line >= 1
        assert all(type(k) is str and type(v) is str for k, v in record.cells.items())
        assert record.problem or set(record.cells) == set(table.headers)
        for text in [*record.cells.values(), *record.cells, record.problem]:
            text.encode("utf-8")  # no unpaired surrogates: every text can be written


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), name=st.sampled_from(["f.csv", "f.json", "f.jsonl"]))
def test_any_bytes_give_a_table_or_one_sentence(tmp_path, data, name):
    _check_any(tmp_path, name, data)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 60), insert=st.binary(max_size=6),
       name=st.sampled_from(["f.csv", "f.json", "f.txt"]))
def test_damaged_good_files_give_a_table_or_one_sentence(tmp_path, seed, cut, insert, name):
    at = cut % (len(seed) + 1)
    _check_any(tmp_path, name, seed[:at] + insert + seed[at:])
    _check_any(tmp_path, name, seed[:at])
