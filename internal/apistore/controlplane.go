package apistore

import "maps"

// Added for the local control plane (internal/controlplane).

// Limits are the quotas the store enforces.
func (s *Store) Limits() Limits { return s.limits }

// SetServiceTags adds tags that only AWS services may set, such as the
// aws:cloudformation:stack-name tag CloudFormation puts on every resource
// it creates (the public API refuses the aws: prefix). The local gateway
// uses it for keys loaded from a template; tests use it to stand in for
// CloudFormation.
func (s *Store) SetServiceTags(keyID string, tags map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.keys[keyID]
	if !ok {
		return errorf(NotFound, "Invalid API Key identifier specified: %s", keyID)
	}
	k := *old
	k.Tags = maps.Clone(old.Tags)
	if k.Tags == nil {
		k.Tags = map[string]string{}
	}
	maps.Copy(k.Tags, tags)
	s.keys[keyID] = &k
	s.byValue[k.Value] = &k
	return nil
}
