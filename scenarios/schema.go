package scenarios

import (
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/eventsim/eventsim/schemas"
)

// validateScenarioSchema checks a scenario's YAML against the scenario JSON
// Schema, the one editors use.
func validateScenarioSchema(src []byte) error {
	var v any
	if err := yaml.Unmarshal(src, &v); err != nil {
		return err
	}
	if err := schemas.ValidateValue(schemas.Scenario, normalize(v)); err != nil {
		return fmt.Errorf("scenario schema: %w", err)
	}
	return nil
}
