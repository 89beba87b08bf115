"""Tests for pngthumb: python3 -m unittest discover examples/thumbnail/python"""

import base64
import struct
import unittest
import zlib

import pngthumb


class Fixtures:
    # Encoded by Go's image/png (adaptive filters), so the decoder is checked
    # against another implementation; the pixel formulas are in each test.
    NRGBA = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAcAAAAFCAYAAACJmvbYAAAAL0lEQVR4nGJhYGD4r8LA8AYbZmGwYWBgYODFipEkpTAwmqQ6CsYiaQLHgAAAAP//bbMK7sOGfCcAAAAASUVORK5CYII=")
    GRAY = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAkAAAADCAAAAABkYXqqAAAAFklEQVR4nGJhkIECJlYYQLAAAQAA//8ZxgFDxmwDKgAAAABJRU5ErkJggg==")
    PALETTED = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAUAAAAEAgMAAAA7XR3TAAAACVBMVEX/AAAA/wAAAP8tSs2KAAAAAnRSTlP/gAgPs2oAAAAYSURBVHicYpBwYEhsYGhjYJBwAAQAAP//DSoCGNGDbC4AAAAASUVORK5CYII=")
    GRAY16 = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAACEAAAAAAKU/78AAAAHElEQVR4nGJiYLBrqGXY3cDE/ILlBQgDAgAA//8tEAYpvpvr0AAAAABJRU5ErkJggg==")


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header(width, height):
    """A signature and IHDR (RGBA, 8 bits) announcing width x height, no data."""
    return pngthumb.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))


def filtered_png(width, height, rows, ftype):
    """An RGB PNG whose every row uses filter ftype (the forward filter)."""
    bpp = 3
    raw = bytearray()
    prev = bytes(width * 3)
    for row in rows:
        row = bytes(row)
        out = bytearray()
        for i, v in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 0:
                pred = 0
            elif ftype == 1:
                pred = a
            elif ftype == 2:
                pred = b
            elif ftype == 3:
                pred = (a + b) >> 1
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            out.append((v - pred) & 0xFF)
        raw += bytes([ftype]) + out
        prev = row
    return (pngthumb.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))


class Decode(unittest.TestCase):
    def test_go_encoded_images(self):
        w, h, alpha, px = pngthumb.decode(Fixtures.NRGBA)
        self.assertEqual((w, h, alpha), (7, 5, True))
        for y in range(5):
            for x in range(7):
                want = [x * 36, y * 60, (x * y * 13) % 256, 255 - x * 20]
                self.assertEqual(px[y][4 * x:4 * x + 4], want, (x, y))
        w, h, alpha, px = pngthumb.decode(Fixtures.GRAY)
        self.assertEqual((w, h, alpha), (9, 3, False))
        for y in range(3):
            for x in range(9):
                v = x * 28 + y * 5
                self.assertEqual(px[y][4 * x:4 * x + 4], [v, v, v, 255], (x, y))
        # Two-bit palette indices with a tRNS chunk.
        palette = [(255, 0, 0, 255), (0, 255, 0, 128), (0, 0, 255, 255)]
        w, h, alpha, px = pngthumb.decode(Fixtures.PALETTED)
        self.assertEqual((w, h, alpha), (5, 4, True))
        for y in range(4):
            for x in range(5):
                self.assertEqual(tuple(px[y][4 * x:4 * x + 4]), palette[(x + y) % 3], (x, y))
        w, h, alpha, px = pngthumb.decode(Fixtures.GRAY16)
        self.assertEqual((w, h, alpha), (4, 2, False))
        for y in range(2):
            for x in range(4):
                v = (x * 16000 + y * 1000) >> 8
                self.assertEqual(px[y][4 * x:4 * x + 4], [v, v, v, 255], (x, y))

    def test_every_filter_type(self):
        rows = [[(x * 7 + y * 31 + c * 50) % 256 for x in range(6) for c in range(3)] for y in range(4)]
        for ftype in range(5):
            w, h, _, px = pngthumb.decode(filtered_png(6, 4, rows, ftype))
            got = [[v for i, v in enumerate(r) if i % 4 != 3] for r in px]
            self.assertEqual(got, rows, "filter %d" % ftype)

    def test_refusals(self):
        good = filtered_png(2, 2, [[1] * 6, [2] * 6], 0)
        bad_crc = bytearray(good)
        bad_crc[29] ^= 1  # inside IHDR's CRC
        cases = {
            "not a PNG image": b"GIF89a....",
            "bad CRC": bytes(bad_crc),
            "at most": png_header(100_000, 100_000) + chunk(b"IEND", b""),
            "no IEND": good[:-12],
            "truncated": png_header(10, 10) + chunk(b"IDAT", zlib.compress(b"\0" * 5)) + chunk(b"IEND", b""),
            "interlaced": pngthumb.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 6, 0, 0, 1))
            + chunk(b"IEND", b""),
        }
        for want, data in cases.items():
            with self.assertRaises(ValueError, msg=want) as cm:
                pngthumb.decode(data)
            self.assertIn(want, str(cm.exception))


class Resize(unittest.TestCase):
    def test_fit(self):
        for (w, h), want in {(640, 480): (128, 96), (480, 640): (96, 128), (300, 100): (128, 43),
                             (4000, 10): (128, 1), (100, 50): (100, 50)}.items():
            self.assertEqual(pngthumb.fit(w, h, 128), want, (w, h))

    def test_taps_conserve_area(self):
        for src, dst in [(10, 3), (640, 128), (7, 7), (3, 2)]:
            per = [0.0] * src
            for t in pngthumb.taps(src, dst):
                self.assertAlmostEqual(sum(w for _, w in t), 1.0)
                for s, w in t:
                    per[s] += w
            for got in per:
                self.assertAlmostEqual(got, dst / src)

    def test_checkerboard_becomes_grey_and_halves_stay_pure(self):
        board = [[v for x in range(8) for v in ([255] * 3 if (x + y) % 2 == 0 else [0] * 3) + [255]]
                 for y in range(8)]
        out = pngthumb.resize(8, 8, board, 4, 4)
        self.assertEqual(out[1][4:8], [128, 128, 128, 255])
        halves = [[255, 0, 0, 255] * 4 + [0, 0, 255, 255] * 4 for _ in range(4)]
        out = pngthumb.resize(8, 4, halves, 4, 2)
        self.assertEqual(out[0][:4], [255, 0, 0, 255])
        self.assertEqual(out[1][12:16], [0, 0, 255, 255])

    def test_transparent_pixels_do_not_bleed(self):
        out = pngthumb.resize(2, 1, [[255, 0, 0, 255, 255, 255, 255, 0]], 1, 1)
        self.assertEqual(out, [[255, 0, 0, 128]])


class Thumbnail(unittest.TestCase):
    def test_round_trip(self):
        rows = [[(x + y) % 256 for x in range(300) for _ in range(3)] for y in range(200)]
        thumb = pngthumb.thumbnail(filtered_png(300, 200, rows, 4))
        w, h, alpha, px = pngthumb.decode(thumb)
        self.assertEqual((w, h, alpha), (128, 85, False))
        # The diagonal gradient survives: dark top-left, bright bottom-right.
        self.assertLess(px[0][0], 10)
        self.assertGreater(px[84][4 * 127], 230)

    def test_small_image_kept(self):
        w, h, alpha, px = pngthumb.decode(pngthumb.thumbnail(Fixtures.NRGBA))
        self.assertEqual((w, h, alpha), (7, 5, True))
        self.assertEqual(px, pngthumb.decode(Fixtures.NRGBA)[3])


if __name__ == "__main__":
    unittest.main()
