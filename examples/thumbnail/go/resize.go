package main

import (
	"image"
	"image/draw"
	"math"
)

// fit returns the size of a w×h image scaled to fit inside max×max with its
// aspect ratio kept. Images already small enough keep their size: a
// thumbnail is never larger than its source.
func fit(w, h, max int) (int, int) {
	if w <= max && h <= max {
		return w, h
	}
	if w >= h {
		return max, clamp1(int(math.Round(float64(h) * float64(max) / float64(w))))
	}
	return clamp1(int(math.Round(float64(w) * float64(max) / float64(h)))), max
}

func clamp1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// tap is one source pixel's share of a destination pixel.
type tap struct {
	src    int
	weight float64
}

// boxTaps returns, for each of dst output positions, the source positions it
// covers and how much of each (the weights of one position sum to 1). It is
// an area average: every source pixel contributes in proportion to the part
// of it that falls inside the destination pixel, so a downscale by a
// non-integer factor neither drops nor double-counts source pixels (the
// aliasing and moiré of nearest-neighbour sampling).
func boxTaps(src, dst int) [][]tap {
	scale := float64(src) / float64(dst)
	out := make([][]tap, dst)
	for d := range dst {
		lo, hi := float64(d)*scale, float64(d+1)*scale
		var taps []tap
		for s := int(lo); s < src && float64(s) < hi; s++ {
			w := math.Min(hi, float64(s+1)) - math.Max(lo, float64(s))
			if w > 0 {
				taps = append(taps, tap{s, w / scale})
			}
		}
		out[d] = taps
	}
	return out
}

// resize scales img to dw×dh by area averaging in premultiplied RGBA, so
// transparent pixels do not bleed their (invisible) colour into the edges of
// opaque ones. It is separable: a horizontal pass into a float buffer, then a
// vertical pass.
func resize(img image.Image, dw, dh int) *image.RGBA {
	b := img.Bounds()
	src, ok := img.(*image.RGBA)
	if !ok || src.Rect.Min != (image.Point{}) {
		src = image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(src, src.Rect, img, b.Min, draw.Src)
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	xt, yt := boxTaps(sw, dw), boxTaps(sh, dh)

	// Horizontal pass: sh rows of dw pixels, 4 channels each.
	mid := make([]float64, sh*dw*4)
	for y := range sh {
		row := src.Pix[y*src.Stride:]
		for dx, taps := range xt {
			var c [4]float64
			for _, t := range taps {
				p := row[t.src*4 : t.src*4+4]
				for i := range c {
					c[i] += float64(p[i]) * t.weight
				}
			}
			copy(mid[(y*dw+dx)*4:], c[:])
		}
	}
	// Vertical pass into the result.
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for dy, taps := range yt {
		for dx := range dw {
			var c [4]float64
			for _, t := range taps {
				p := mid[(t.src*dw+dx)*4:]
				for i := range c {
					c[i] += p[i] * t.weight
				}
			}
			o := dst.Pix[dy*dst.Stride+dx*4:]
			for i := range c {
				o[i] = uint8(math.Min(255, math.Round(c[i])))
			}
		}
	}
	return dst
}
