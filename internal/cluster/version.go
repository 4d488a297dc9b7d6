package cluster

import (
	"encoding/json"
	"fmt"
)

func parseVersion(body []byte) (string, error) {
	var v struct {
		GitVersion string `json:"gitVersion"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("decode /version: %w", err)
	}
	if v.GitVersion == "" {
		return "", fmt.Errorf("decode /version: no gitVersion")
	}
	return v.GitVersion, nil
}
