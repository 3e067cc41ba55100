//! What both binaries set up in their process before any work.

/// Turn transparent huge pages off for this process.
///
/// The allocator (mimalloc) takes its memory in large aligned regions; where
/// the kernel backs them with transparent huge pages (`always` on many Linux
/// hosts), the first touch of each region clears a 2 MiB page. For a
/// short-lived process that is most of the memory it ever touches: on the
/// 1,582-policy corpus the kernel's page clearing was a fifth of the CPU
/// time, and the peak RSS halves without it (`benches/compare.py`). The
/// prctl applies to every later page fault of the process, so calling it
/// first thing in `main` is enough.
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and
        // touches no memory of ours; a kernel without it returns EINVAL,
        // which leaves the default in place.
        let _refused = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}
