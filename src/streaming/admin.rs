//! Topic administration.
