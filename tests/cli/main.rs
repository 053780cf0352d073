//! Black-box tests of the `callscope` binary: each runs the real binary in a
//! fresh temporary workspace.

mod import;
mod search;
mod util;
