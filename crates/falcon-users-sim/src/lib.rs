//! A stateful simulator of the Falcon User Management API (work in progress).
