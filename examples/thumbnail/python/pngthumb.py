"""PNG thumbnails with the Python standard library only.

The tutorial's Python function uses Pillow. Sluice runs python3.x functions
on the machine's own python3, where Pillow may not be importable, so this
module does the same job for PNG with zlib and struct: decode (every colour
type and bit depth, non-interlaced), scale down by area averaging in
premultiplied RGBA, and encode a new PNG.
"""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A small header can announce a huge image; refuse before allocating it.
MAX_PIXELS = 20_000_000
# Samples per pixel for each colour type.
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunks(data):
    """Yields (type, body) for each chunk, checking lengths and CRCs."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG image")
    pos = len(SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError("truncated PNG chunk header")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise ValueError("truncated PNG chunk")
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) != crc:
            raise ValueError("PNG chunk %r has a bad CRC" % kind)
        yield kind, body
        pos += 12 + length
        if kind == b"IEND":
            return
    raise ValueError("PNG image has no IEND chunk")


def unfilter(raw, width, height, bpp, stride):
    """Reverses the per-row PNG filters; returns the rows of raw samples."""
    rows = []
    prev = bytearray(stride)
    pos = 0
    for _ in range(height):
        if pos + 1 + stride > len(raw):
            raise ValueError("PNG image data is truncated")
        ftype = raw[pos]
        cur = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if ftype == 1:
            for i in range(bpp, stride):
                cur[i] = (cur[i] + cur[i - bpp]) & 0xFF
        elif ftype == 2:
            for i in range(stride):
                cur[i] = (cur[i] + prev[i]) & 0xFF
        elif ftype == 3:
            for i in range(stride):
                left = cur[i - bpp] if i >= bpp else 0
                cur[i] = (cur[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (cur[i] + pred) & 0xFF
        elif ftype != 0:
            raise ValueError("unknown PNG filter type %d" % ftype)
        rows.append(cur)
        prev = cur
    return rows


def samples(row, width, channels, depth):
    """The row's samples scaled to 0..255."""
    if depth == 8:
        return list(row[:width * channels])
    if depth == 16:
        return list(row[0:width * channels * 2:2])  # the high byte
    n = width * channels
    per = 8 // depth
    mask = (1 << depth) - 1
    out = []
    for byte in row:
        for k in range(per):
            out.append((byte >> (8 - depth * (k + 1))) & mask)
            if len(out) == n:
                return out
    return out


def decode(data):
    """Returns (width, height, has_alpha, pixels): pixels is a list of rows,
    each a flat list of 8-bit R, G, B, A values."""
    header = None
    idat = []
    palette, trns = None, None
    for kind, body in chunks(data):
        if kind == b"IHDR":
            if len(body) != 13:
                raise ValueError("bad IHDR length")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = [tuple(body[i:i + 3]) for i in range(0, len(body) - 2, 3)]
        elif kind == b"tRNS":
            trns = body
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise ValueError("PNG image has no IHDR chunk")
    width, height, depth, ctype, _, _, interlace = header
    if ctype not in CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise ValueError("unsupported PNG colour type %d / bit depth %d" % (ctype, depth))
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise ValueError("image is %dx%d pixels; at most %d are allowed" % (width, height, MAX_PIXELS))
    if interlace:
        raise ValueError("interlaced PNG images are not supported")
    if ctype == 3 and not palette:
        raise ValueError("palette PNG image has no PLTE chunk")
    channels = CHANNELS[ctype]
    bits = channels * depth
    stride = (width * bits + 7) // 8
    bpp = max(1, bits // 8)
    # Bound the inflated size: a small IDAT can expand without limit.
    want = height * (stride + 1)
    inflater = zlib.decompressobj()
    raw = inflater.decompress(b"".join(idat), want)
    rows = unfilter(raw, width, height, bpp, stride)

    scale = {1: 255, 2: 85, 4: 17, 8: 1, 16: 1}[depth] if ctype != 3 else 1
    key = None  # tRNS for grey/RGB: the one fully transparent colour
    if trns and ctype == 0 and len(trns) >= 2:
        key = (struct.unpack(">H", trns[:2])[0] >> (8 if depth == 16 else 0)) * scale
    if trns and ctype == 2 and len(trns) >= 6:
        key = tuple(v >> (8 if depth == 16 else 0) for v in struct.unpack(">HHH", trns[:6]))
    alphas = list(trns) if (trns and ctype == 3) else []
    has_alpha = ctype in (4, 6) or trns is not None

    pixels = []
    for row in rows:
        s = samples(row, width, channels, depth)
        out = []
        for x in range(width):
            if ctype == 0:
                v = s[x] * scale
                out += (v, v, v, 0 if v == key else 255)
            elif ctype == 2:
                r, g, b = s[3 * x:3 * x + 3]
                out += (r, g, b, 0 if (r, g, b) == key else 255)
            elif ctype == 3:
                i = s[x]
                if i >= len(palette):
                    raise ValueError("palette index %d out of range" % i)
                out += palette[i] + (alphas[i] if i < len(alphas) else 255,)
            elif ctype == 4:
                v, a = s[2 * x:2 * x + 2]
                out += (v, v, v, a)
            else:
                out += s[4 * x:4 * x + 4]
        pixels.append(out)
    return width, height, has_alpha, pixels


def fit(width, height, size):
    """The size of a width x height image scaled to fit in size x size, aspect
    kept; never larger than the source."""
    if width <= size and height <= size:
        return width, height
    if width >= height:
        return size, max(1, round(height * size / width))
    return max(1, round(width * size / height)), size


def taps(src, dst):
    """For each destination position, the (source index, weight) pairs of an
    area average: each source pixel counts for the part of it the destination
    pixel covers."""
    scale = src / dst
    out = []
    for d in range(dst):
        lo, hi = d * scale, (d + 1) * scale
        t = []
        s = int(lo)
        while s < src and s < hi:
            w = min(hi, s + 1) - max(lo, s)
            if w > 0:
                t.append((s, w / scale))
            s += 1
        out.append(t)
    return out


def resize(width, height, pixels, dw, dh):
    """Scales RGBA rows to dw x dh by area averaging in premultiplied alpha
    (a transparent pixel's colour does not bleed into its neighbours)."""
    xt, yt = taps(width, dw), taps(height, dh)
    # Horizontal pass over premultiplied rows.
    mid = []
    for row in pixels:
        pre = []
        for x in range(width):
            r, g, b, a = row[4 * x:4 * x + 4]
            pre += (r * a / 255, g * a / 255, b * a / 255, a)
        out = []
        for t in xt:
            c = [0.0, 0.0, 0.0, 0.0]
            for s, w in t:
                for i in range(4):
                    c[i] += pre[4 * s + i] * w
            out += c
        mid.append(out)
    # Vertical pass, then back to straight alpha.
    result = []
    for t in yt:
        out = []
        for x in range(dw):
            c = [0.0, 0.0, 0.0, 0.0]
            for s, w in t:
                for i in range(4):
                    c[i] += mid[s][4 * x + i] * w
            a = c[3]
            if a <= 0:
                out += (0, 0, 0, 0)
            else:
                out += [min(255, round(v * 255 / a)) for v in c[:3]] + [min(255, round(a))]
        result.append(out)
    return result


def encode(width, height, pixels, alpha):
    """An 8-bit RGBA (or RGB, when alpha is false) PNG of the rows."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = bytearray()
    for row in pixels:
        raw.append(0)  # filter: none
        if alpha:
            raw += bytes(row)
        else:
            raw += bytes(v for i, v in enumerate(row) if i % 4 != 3)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")


def thumbnail(data, size=128):
    """A PNG thumbnail of PNG bytes, fitting in size x size."""
    width, height, alpha, pixels = decode(data)
    dw, dh = fit(width, height, size)
    if (dw, dh) != (width, height):
        pixels = resize(width, height, pixels, dw, dh)
    return encode(dw, dh, pixels, alpha)
