#!/usr/bin/env bash
# nbdsh (libnbd's Python bindings) drives the protocol directly: block
# size negotiation with and without the client asking, structured reads,
# block status with REQ_ONE, FAST_ZERO, flags, and the spec's errors for
# out-of-range, misaligned, oversized and read-only requests (strict mode
# off so the client sends what a broken one would), then checks the
# connection still works.  Also several handles at once (multi-conn: a
# flush on one covers writes on another).
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/nbd-lib.sh"
requires nbdsh_sys --version
tmpdir
sock=$TMPDIR_TEST/s.sock
export uri="nbd+unix:///d1?socket=$sock"

start_nbd --disk d1 --size 16M --socket "$sock"
nbdsh_sys -c - <<'PY' || fail "nbdsh checks"
import errno, os
import nbd

uri = os.environ["uri"]

def expect_err(fn, code, what):
    try:
        fn()
    except nbd.Error as e:
        got = e.errno if isinstance(e.errno, int) else getattr(errno, str(e.errno), None)
        assert got == code, "%s: errno %s, wanted %s (%s)" % (what, e.errno, code, e)
        return
    raise AssertionError("%s: no error" % what)

h = nbd.NBD()
h.add_meta_context("base:allocation")
h.connect_uri(uri)
assert h.get_size() == 16 << 20
assert h.get_structured_replies_negotiated()
assert h.can_meta_context("base:allocation")
assert h.get_block_size(nbd.SIZE_MINIMUM) == 4096
assert h.get_block_size(nbd.SIZE_PREFERRED) == 4096
assert h.get_block_size(nbd.SIZE_MAXIMUM) == 32 << 20
assert h.can_df() and h.can_fua() and h.can_flush() and h.can_trim()
assert h.can_zero() and h.can_fast_zero() and h.can_cache() and h.can_multi_conn()

h.pwrite(b"\x5a" * 8192, 65536, nbd.CMD_FLAG_FUA)
assert h.pread(8192, 65536) == b"\x5a" * 8192

# a structured read: exactly one data chunk covering the request
chunks = []
def chunk(buf, off, status, err):
    chunks.append((off, len(buf), status))
    return 0
h.pread_structured(8192, 65536, chunk, nbd.CMD_FLAG_DF)
assert chunks == [(65536, 8192, nbd.READ_DATA)], chunks

# block status, with and without REQ_ONE
ext = []
def cb(meta, off, entries, err):
    ext.append((meta, off, list(entries)))
h.block_status(1 << 20, 0, cb)
meta, off, e = ext[-1]
assert meta == "base:allocation" and off == 0
assert e[0:2] == [65536, 3] and e[2:4] == [8192, 0] and e[5] == 3, e
h.block_status(1 << 20, 0, cb, nbd.CMD_FLAG_REQ_ONE)
assert ext[-1][2] == [65536, 3], ext[-1]

h.zero(8192, 65536, nbd.CMD_FLAG_FAST_ZERO)
h.zero(4096, 65536, nbd.CMD_FLAG_NO_HOLE)
assert h.pread(8192, 65536) == bytes(8192)
h.trim(1 << 20, 0)
h.cache(1 << 20, 0)
h.flush()

# errors, with the client's own checks off
h.set_strict_mode(0)
size = 16 << 20
expect_err(lambda: h.pread(4096, size), errno.EINVAL, "read past the end")
expect_err(lambda: h.pwrite(bytes(4096), size), errno.ENOSPC, "write past the end")
expect_err(lambda: h.pread(512, 4096), errno.EINVAL, "misaligned length")
expect_err(lambda: h.pread(4096, 512), errno.EINVAL, "misaligned offset")
expect_err(lambda: h.pwrite(bytes(512), 512), errno.EINVAL, "misaligned write")
expect_err(lambda: h.pwrite(bytes((32 << 20) + 4096), 0), errno.EINVAL, "oversized write")
expect_err(lambda: h.pread((32 << 20) + 4096, 0), errno.EOVERFLOW, "oversized read")
expect_err(lambda: h.trim(4096, size), errno.EINVAL, "trim past the end")
expect_err(lambda: h.pread(4096, 0, nbd.CMD_FLAG_REQ_ONE), errno.EINVAL, "misplaced flag")
h.pread(0, 0)  # zero length: success, no disconnect
h.pwrite(b"\x33" * 4096, 2 << 20)
assert h.pread(4096, 2 << 20) == b"\x33" * 4096, "connection broken by errors"
h.shutdown()

# a client that does not ask for block sizes is told 512 and served at 512
h = nbd.NBD()
h.set_request_block_size(False)
h.connect_uri(uri)
assert h.get_block_size(nbd.SIZE_MINIMUM) == 512, h.get_block_size(nbd.SIZE_MINIMUM)
h.pwrite(b"\x77" * 512, 512)
assert h.pread(1024, 0) == bytes(512) + b"\x77" * 512
h.shutdown()

# without structured replies: simple replies, no DF, no block status
h = nbd.NBD()
h.set_request_structured_replies(False)
h.connect_uri(uri)
assert not h.get_structured_replies_negotiated() and not h.can_df()
assert h.pread(4096, 0)[512:1024] == b"\x77" * 512
h.set_strict_mode(0)
expect_err(lambda: h.pread(4096, 16 << 20), errno.EINVAL, "simple read past the end")
h.shutdown()

# multi-conn: a write on one handle, flushed on another, read on a third
hs = [nbd.NBD() for _ in range(3)]
for x in hs:
    x.connect_uri(uri)
hs[0].pwrite(b"\x42" * 4096, 1 << 20)
hs[1].flush()
assert hs[2].pread(4096, 1 << 20) == b"\x42" * 4096
for x in hs:
    x.shutdown()

# option negotiation by hand: LIST, INFO with name and description
h = nbd.NBD()
h.set_opt_mode(True)
h.set_full_info(True)
h.connect_uri(uri)
names = []
h.opt_list(lambda n, d: names.append(n))
assert names == ["d1"], names
h.set_export_name("d1")
h.opt_info()
assert h.get_canonical_export_name() == "d1"
h.set_export_name("nope")
expect_err(lambda: h.opt_info(), errno.ENOENT, "info on an unknown export")
h.opt_abort()
print("nbdsh checks passed")
PY
stop_nbd
echo PASS
