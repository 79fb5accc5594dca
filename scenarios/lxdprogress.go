package scenarios

import (
	"fmt"
	"strconv"
	"time"
)

// LXDProgress is the progress an LXD operation reports while it runs: the
// metadata updates the daemon's progress tracker writes through
// shared.SetProgressMetadata, each an operation event of its own. One
// definition for the engine's verbs and the fake daemon's REST operations,
// so that both make the same events (simulator/lxd's
// TestVerbAndRESTMakeTheSameEvents holds them to it).
type LXDProgress struct {
	// Stage names the stage in the progress object and, with "_progress"
	// appended, the key of the text lxc shows.
	Stage string
	// Prefix starts that text: "Unpack".
	Prefix string
	// Size is how many bytes the stage goes through; the speed shown is
	// Size over the operation's time.
	Size int64
	// WorkFirst says that the operation does its work, and sends its
	// lifecycle event, before the progress: LXD makes an instance's record
	// (instance-created) and then unpacks its image into it.
	WorkFirst bool
}

// LXDImageSize is the size of the image an instance is unpacked from when
// nothing says otherwise (a scenario's instance.create without size:, an
// image a played stream made): about that of a distribution's container
// image.
const LXDImageSize = 100_000_000

// LXDUnpackProgress is the progress of creating an instance from an image
// of size bytes, as LXD 5.0.2 reports it (recorded with lxc monitor while
// lxc init made an instance from a 20 MB image): after Running, the
// instance-created lifecycle event, then metadata updates
//
//	{"create_instance_from_image_unpack_progress":"Unpack: 1% (32.32MB/s)",
//	 "progress":{"percent":"1","speed":"32319635","stage":"create_instance_from_image_unpack"}}
//
// with the percent climbing to 100, then Success carrying the last of them.
func LXDUnpackProgress(size int64) *LXDProgress {
	return &LXDProgress{Stage: "create_instance_from_image_unpack", Prefix: "Unpack", Size: size, WorkFirst: true}
}

const (
	// lxdProgressEvery is how much of an operation's time passes between
	// two progress updates; a real daemon sends one per percent, which
	// would be a hundred events for each instance.
	lxdProgressEvery = 500 * time.Millisecond
	// lxdMaxProgress bounds the updates of one operation.
	lxdMaxProgress = 10
)

// Points returns how many progress updates an operation that runs took
// sends: one per 500 ms of it, at least 1 and at most 10. Update i (1 to n)
// comes at took*i/n.
func (p *LXDProgress) Points(took time.Duration) int {
	return min(max(int(took/lxdProgressEvery), 1), lxdMaxProgress)
}

// Metadata returns the operation's metadata at update i of n of an
// operation that runs took. Every value under a key ending in _progress is
// a string (lxc panics on anything else).
func (p *LXDProgress) Metadata(i, n int, took time.Duration) map[string]any {
	pct, speed := p.percent(i, n), p.speed(took)
	return map[string]any{
		"progress":            map[string]string{"stage": p.Stage, "percent": strconv.FormatInt(pct, 10), "speed": strconv.FormatInt(speed, 10)},
		p.Stage + "_progress": fmt.Sprintf("%s: %d%% (%s/s)", p.Prefix, pct, byteSize(speed)),
	}
}

// AppendMetadataJSON appends what json.Marshal writes for Metadata(i, n,
// took), without making the map: the engine writes it for every progress
// update of every instance it creates.
func (p *LXDProgress) AppendMetadataJSON(b []byte, i, n int, took time.Duration) []byte {
	pct, speed := p.percent(i, n), p.speed(took)
	text := func(b []byte) []byte {
		// Stage+"_progress": the text lxc shows.
		b = appendString(b, p.Stage)
		b = append(b[:len(b)-1], `_progress":`...)
		// Prefix + ": 12% (3.45MB/s)"; only the prefix may need escaping.
		b = appendString(b, p.Prefix)
		b = append(b[:len(b)-1], ": "...)
		b = strconv.AppendInt(b, pct, 10)
		b = append(b, "% ("...)
		b = appendByteSize(b, speed)
		return append(b, "/s)\""...)
	}
	progress := func(b []byte) []byte {
		b = append(b, `"progress":{"percent":"`...)
		b = strconv.AppendInt(b, pct, 10)
		b = append(b, `","speed":"`...)
		b = strconv.AppendInt(b, speed, 10)
		b = append(b, `","stage":`...)
		b = appendString(b, p.Stage)
		return append(b, '}')
	}
	b = append(b, '{')
	// encoding/json sorts a map's keys.
	if textKeyFirst(p.Stage) {
		b = append(text(b), ',')
		b = progress(b)
	} else {
		b = append(progress(b), ',')
		b = text(b)
	}
	return append(b, '}')
}

// textKeyFirst reports whether stage+"_progress" sorts before "progress",
// without making the string.
func textKeyFirst(stage string) bool {
	const suffix, other = "_progress", "progress"
	n := len(stage) + len(suffix)
	for i := 0; i < n && i < len(other); i++ {
		c := byte(0)
		if i < len(stage) {
			c = stage[i]
		} else {
			c = suffix[i-len(stage)]
		}
		if c != other[i] {
			return c < other[i]
		}
	}
	return n < len(other)
}

func (p *LXDProgress) percent(i, n int) int64 { return max(int64(float64(i)/float64(n)*100), 1) }

func (p *LXDProgress) speed(took time.Duration) int64 {
	if took > 0 {
		return int64(float64(p.Size) / took.Seconds())
	}
	return 0
}

// appendByteSize appends byteSize(n): %.2f is what strconv writes with
// precision 2.
func appendByteSize(b []byte, n int64) []byte {
	if n < 1000 {
		return append(strconv.AppendInt(b, n, 10), 'B')
	}
	v := float64(n)
	for _, unit := range []string{"kB", "MB", "GB", "TB", "PB"} {
		v /= 1000
		if v < 1000 {
			return append(strconv.AppendFloat(b, v, 'f', 2, 64), unit...)
		}
	}
	return append(strconv.AppendFloat(b, v/1000, 'f', 2, 64), "EB"...)
}

// byteSize writes a byte count as LXD's units.GetByteSizeString(n, 2) does.
func byteSize(n int64) string { return string(appendByteSize(nil, n)) }
