//! (being written: the run journal)
