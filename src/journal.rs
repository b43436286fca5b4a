//! The append-only journal beside a results file: every request and every row outcome, fsynced
//! before it counts. (SKELETON: to be implemented.)
