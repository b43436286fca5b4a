//! The HTTP client for the Kayse API: connection settings, pacing by the rate-limit headers,
//! retries. (SKELETON: to be implemented.)
