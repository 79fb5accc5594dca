package scenarios

import (
	"encoding/hex"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"unicode"

	"github.com/brianvoe/gofakeit/v6"
	"github.com/brianvoe/gofakeit/v6/data"
)

// faker makes realistic values from a track's random source, so the same
// seed gives the same names on every machine.
type faker struct {
	rng *rand.Rand
	f   *gofakeit.Faker
	// prefix, when set, replaces the first 8 hex digits of every UUID and
	// fingerprint: a shard's number, so no two shards make the same.
	prefix string
}

func newFaker(r *rand.Rand) *faker {
	return &faker{rng: r, f: gofakeit.NewUnlocked(r.Int63())}
}

// uuid returns a random version 4 UUID, as LXD gives operations and warnings.
func (f *faker) uuid() string { return string(f.appendUUID(nil)) }

// appendUUID appends what uuid returns, drawing the same numbers.
func (f *faker) appendUUID(dst []byte) []byte {
	var b [16]byte
	f.read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	copy(out[:8], f.prefix)
	return append(dst, out[:]...)
}

func (f *faker) read(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := f.rng.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
}

// hex returns n random hex digits.
func (f *faker) hex(n int) string {
	b := make([]byte, (n+1)/2)
	f.read(b)
	return hex.EncodeToString(b)[:n]
}

// fingerprint returns a SHA-256 fingerprint, as images and certificates have.
func (f *faker) fingerprint() string { return f.prefix + f.hex(64)[len(f.prefix):] }

// ipv4 returns a documentation-range address, never a real host.
func (f *faker) ipv4() string {
	return fmt.Sprintf("192.0.2.%d", 1+f.rng.Intn(254))
}

// petname returns an LXD-style name such as "sincere-jackal".
func (f *faker) petname() string {
	// What clean(f.f.AdjectiveDescriptive()) + "-" + clean(f.f.Animal())
	// gives, drawing the same numbers, from words cleaned once.
	w := petWords()
	adj := w.adjectives[f.f.Rand.Intn(len(w.adjectives))]
	return adj + "-" + w.animals[f.f.Rand.Intn(len(w.animals))]
}

// petWords are the words gofakeit's AdjectiveDescriptive and Animal draw
// from, in its order, cleaned.
var petWords = sync.OnceValue(func() (w struct{ adjectives, animals []string }) {
	for _, s := range data.Data["word"]["adjective_descriptive"] {
		w.adjectives = append(w.adjectives, clean(s))
	}
	for _, s := range data.Data["animal"]["animal"] {
		w.animals = append(w.animals, clean(s))
	}
	return w
})

// label returns a Linode-style label such as "web-eu-3".
func (f *faker) label(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, clean(f.f.Noun()), 1+f.rng.Intn(99))
}

func (f *faker) username() string { return clean(f.f.Username()) }

func (f *faker) sentence() string { return f.f.Sentence(6) }

// clean keeps lower-case letters, digits and dashes.
func clean(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '-' || r == '_':
			if b.Len() > 0 {
				b.WriteByte('-')
			}
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "x"
	}
	return out
}
