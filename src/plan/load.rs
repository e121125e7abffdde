//! (being written: reading a saved plan back)
