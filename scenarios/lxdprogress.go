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
	pct := max(int64(float64(i)/float64(n)*100), 1)
	speed := int64(0)
	if took > 0 {
		speed = int64(float64(p.Size) / took.Seconds())
	}
	return map[string]any{
		"progress":            map[string]string{"stage": p.Stage, "percent": strconv.FormatInt(pct, 10), "speed": strconv.FormatInt(speed, 10)},
		p.Stage + "_progress": fmt.Sprintf("%s: %d%% (%s/s)", p.Prefix, pct, byteSize(speed)),
	}
}

// byteSize writes a byte count as LXD's units.GetByteSizeString(n, 2) does.
func byteSize(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%dB", n)
	}
	v := float64(n)
	for _, unit := range []string{"kB", "MB", "GB", "TB", "PB"} {
		v /= 1000
		if v < 1000 {
			return fmt.Sprintf("%.2f%s", v, unit)
		}
	}
	return fmt.Sprintf("%.2fEB", v/1000)
}
