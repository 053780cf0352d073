//! Black-box tests of the `callscope` binary: each runs the real binary in a
//! fresh temporary workspace.

mod crash;
mod digest;
mod forget;
mod import;
mod index_audit;
mod index_follow;
mod keys;
mod model;
mod pipeline;
mod qa;
mod redact;
mod review;
mod scale;
mod search;
mod shared_store;
mod transcribe;
mod users;
mod util;
