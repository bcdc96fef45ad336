"""Mutated spreadsheets, read one after another: each must end in rows or a ReadError.

Run as a program (`python -m estatecrm.pipeline.tests.mutations SEED COUNT`) so that a file that
still crashes the process (a calamine abort) fails the calling test instead of killing pytest.
Prints `escaped <kind> <exception>` for every other exception and `read <count>` at the end.
"""

import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

TOKENS = ['r="XFD1048576"', 'r="A1048576"', "<c>", "<row>", '<c r="ZZ9">', " r='Q99'", 'number-rows-repeated="999999"',
          'number-columns-repeated="9999"', '<row r="1048576">', "</row>", '<c r="A2" r="XFD2">', '<x:c r="XFD5">', "&#0;", "\x00",
          'r="XFD99999999"', '"r="XFD9"', 'r=""', "<!DOCTYPE x>", 's="a>b" r="XFD7"', "<table:table-cell>", '<dimension ref="A1:XFD9"/>',
          ' count="4294967295"', ' uniqueCount="99999999999"', "<si><t>z</t></si>"]


def main(seed: int, count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "estatecrm.config.settings.test")
    import django

    django.setup()
    folder = Path(tempfile.mkdtemp(prefix="estatecrm-mutations-"))
    try:
        read_mutations(random.Random(seed), folder, count)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_mutations(chance: random.Random, folder: Path, count: int) -> None:
    from estatecrm.pipeline.readers import ReadError, open_table
    from estatecrm.pipeline.tests import hostile

    sheet = hostile.sheet_xml(hostile.HEADER_ROW + hostile.DATA_ROW + '<row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3"><v>12</v></c></row>')
    ods_rows = hostile.ods_header_and_row() + hostile.LIBREOFFICE_TAIL
    biff = hostile.xls_workbook_stream([hostile.biff_label(0, 0, "会社名"), hostile.biff_label(0, 1, "電話番号"),
                                        hostile.biff_label(1, 0, "ABC"), hostile.biff_number(1, 1, 3.0)])
    valid_xlsx = hostile.write_xlsx(folder / "valid.xlsx", sheet).read_bytes()

    def mutated_text(text: str) -> str:
        characters = list(text)
        for _change in range(chance.randint(1, 4)):
            index = chance.randrange(len(characters))
            roll = chance.random()
            if roll < 0.4:
                characters.insert(index, chance.choice(TOKENS))
            elif roll < 0.7:
                del characters[index: index + chance.randint(1, 20)]
            else:
                characters[index] = chr(chance.randrange(32, 127))
        return "".join(characters)

    def mutated_bytes(data: bytes) -> bytes:
        changed = bytearray(data)
        for _change in range(chance.randint(1, 6)):
            changed[chance.randrange(len(changed))] = chance.randrange(256)
        return bytes(changed)

    read = 0
    for number in range(count):
        kind = chance.choice(["xlsx", "ods", "xls", "zip bytes"])
        path = folder / f"{number}.{'ods' if kind == 'ods' else 'xls' if kind == 'xls' else 'xlsx'}"
        if kind == "xlsx":
            strings = hostile.shared_strings_xml(["x", "y"])
            hostile.write_xlsx(path, mutated_text(sheet), shared_strings=mutated_text(strings) if chance.random() < 0.3 else strings)
        elif kind == "ods":
            hostile.write_ods(path, mutated_text(ods_rows))
        elif kind == "xls":
            hostile.write_ole(path, mutated_bytes(biff))
        else:
            path.write_bytes(mutated_bytes(valid_xlsx))
        try:
            open_table(path).scan()
        except ReadError:
            pass
        except Exception as error:  # reported to the calling test
            print(f"escaped {kind} {error.__class__.__name__}: {error}", flush=True)
        read += 1
        path.unlink()
    print(f"read {read}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
