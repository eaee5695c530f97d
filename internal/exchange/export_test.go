package exchange

// ForgetFeeds empties the MISP feed cache, so that a benchmark measures making a feed.
func (s *Service) ForgetFeeds() { s.feedCache.changed() }
