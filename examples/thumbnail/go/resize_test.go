package main

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestFit(t *testing.T) {
	for _, tc := range []struct{ w, h, ww, wh int }{
		{640, 480, 128, 96},
		{480, 640, 96, 128},
		{1000, 1000, 128, 128},
		{129, 10, 128, 10},
		{4000, 10, 128, 1}, // never zero
		{100, 50, 100, 50}, // already small: kept
		{128, 128, 128, 128},
		{300, 100, 128, 43}, // 42.67 rounds up
	} {
		gw, gh := fit(tc.w, tc.h, 128)
		if gw != tc.ww || gh != tc.wh {
			t.Errorf("fit(%d, %d, 128) = %d×%d, want %d×%d", tc.w, tc.h, gw, gh, tc.ww, tc.wh)
		}
	}
}

// Every destination pixel's weights sum to 1, and every source pixel is
// spread over the destination exactly once in total (dst/src of a pixel per
// source pixel): nothing dropped, nothing counted twice.
func TestBoxTapsConserveArea(t *testing.T) {
	for _, tc := range []struct{ src, dst int }{{10, 3}, {640, 128}, {7, 7}, {1000, 1}, {129, 128}, {3, 2}} {
		per := make([]float64, tc.src)
		for d, taps := range boxTaps(tc.src, tc.dst) {
			sum := 0.0
			for _, tp := range taps {
				sum += tp.weight
				per[tp.src] += tp.weight
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("boxTaps(%d, %d)[%d] weights sum to %v, want 1", tc.src, tc.dst, d, sum)
			}
		}
		want := float64(tc.dst) / float64(tc.src)
		for s, got := range per {
			if math.Abs(got-want) > 1e-9 {
				t.Errorf("boxTaps(%d, %d): source %d contributes %v in total, want %v", tc.src, tc.dst, s, got, want)
			}
		}
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func TestResizeAveragesAreas(t *testing.T) {
	red, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}
	// Left half red, right half blue, 256×128 → 128×64: halves stay pure.
	img := image.NewRGBA(image.Rect(0, 0, 256, 128))
	fill(img, image.Rect(0, 0, 128, 128), red)
	fill(img, image.Rect(128, 0, 256, 128), blue)
	out := resize(img, 128, 64)
	if out.Rect != image.Rect(0, 0, 128, 64) {
		t.Fatalf("bounds %v, want 128×64", out.Rect)
	}
	if got := out.RGBAAt(10, 10); got != red {
		t.Errorf("left pixel %v, want %v", got, red)
	}
	if got := out.RGBAAt(100, 50); got != blue {
		t.Errorf("right pixel %v, want %v", got, blue)
	}

	// A one-pixel checkerboard scaled by 2 becomes its average, mid grey.
	board := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			if (x+y)%2 == 0 {
				board.SetRGBA(x, y, color.RGBA{255, 255, 255, 255})
			} else {
				board.SetRGBA(x, y, color.RGBA{0, 0, 0, 255})
			}
		}
	}
	small := resize(board, 32, 32)
	for _, p := range []image.Point{{0, 0}, {5, 17}, {31, 31}} {
		if got, want := small.RGBAAt(p.X, p.Y), (color.RGBA{128, 128, 128, 255}); got != want {
			t.Errorf("checkerboard/2 at %v = %v, want %v", p, got, want)
		}
	}

	// 3 columns → 2: the middle column is split between both outputs.
	row := image.NewRGBA(image.Rect(0, 0, 3, 1))
	row.SetRGBA(0, 0, color.RGBA{0, 0, 0, 255})
	row.SetRGBA(1, 0, color.RGBA{90, 90, 90, 255})
	row.SetRGBA(2, 0, color.RGBA{180, 180, 180, 255})
	two := resize(row, 2, 1)
	// out[0] = (0·1 + 90·0.5)/1.5 = 30; out[1] = (90·0.5 + 180·1)/1.5 = 150.
	if got := two.RGBAAt(0, 0).R; got != 30 {
		t.Errorf("3→2 first pixel R = %d, want 30", got)
	}
	if got := two.RGBAAt(1, 0).R; got != 150 {
		t.Errorf("3→2 second pixel R = %d, want 150", got)
	}
}

// Transparent pixels carry no colour into the result: averaging an opaque
// red pixel with a fully transparent "white" one gives half-transparent red,
// not pink.
func TestResizePremultipliedAlpha(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	src.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	src.SetNRGBA(1, 0, color.NRGBA{255, 255, 255, 0})
	out := resize(src, 1, 1)
	got := color.NRGBAModel.Convert(out.At(0, 0)).(color.NRGBA)
	if got.R != 255 || got.G != 0 || got.B != 0 || got.A != 128 {
		t.Errorf("average = %v, want half-transparent pure red", got)
	}
}

// A source whose bounds do not start at 0,0 (a SubImage) is read from its
// own bounds.
func TestResizeSubImage(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 20, 20))
	fill(img, img.Rect, color.RGBA{0, 0, 0, 255})
	fill(img, image.Rect(10, 10, 20, 20), color.RGBA{0, 200, 0, 255})
	out := resize(img.SubImage(image.Rect(10, 10, 20, 20)), 5, 5)
	if got := out.RGBAAt(2, 2); got != (color.RGBA{0, 200, 0, 255}) {
		t.Errorf("sub-image pixel %v, want green", got)
	}
}
