package scenarios

import (
	"math/rand"

	"github.com/brianvoe/gofakeit/v6"
)

type faker struct{ *gofakeit.Faker }

func newFaker(r *rand.Rand) *faker { return &faker{gofakeit.NewUnlocked(r.Int63())} }
