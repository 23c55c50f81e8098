-- sign.lua: a wrk script that signs every request as @alicloud/kms20160120
-- does (RPC v1, HMAC-SHA1), with a fresh SignatureNonce each time, so the
-- server does the whole work of an SDK call: parse, verify, replay check,
-- KMS operation, JSON.
--
-- Environment: SD_AKID, SD_SECRET, SD_ACTION (GenerateDataKey or Decrypt),
-- SD_KEY_ID (GenerateDataKey), SD_BLOB (Decrypt).
-- LuaJIT's bit library does the SHA-1; the cost stays on the client's
-- cores, as with a real SDK.
local bit = require("bit")
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local rol, rshift, lshift, tobit = bit.rol, bit.rshift, bit.lshift, bit.tobit

local function u32be(n)
  return string.char(band(rshift(n, 24), 255), band(rshift(n, 16), 255),
                     band(rshift(n, 8), 255), band(n, 255))
end

local function sha1(msg)
  local h0, h1, h2, h3, h4 = tobit(0x67452301), tobit(0xEFCDAB89), tobit(0x98BADCFE),
                             tobit(0x10325476), tobit(0xC3D2E1F0)
  local ml = #msg
  msg = msg .. "\128" .. string.rep("\0", (55 - ml) % 64) .. u32be(0) .. u32be(ml * 8)
  local w = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local a, b, c, d = msg:byte(chunk + i * 4, chunk + i * 4 + 3)
      w[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 79 do
      w[i] = rol(bxor(w[i - 3], w[i - 8], w[i - 14], w[i - 16]), 1)
    end
    local a, b, c, d, e = h0, h1, h2, h3, h4
    for i = 0, 79 do
      local f, k
      if i < 20 then f = bor(band(b, c), band(bnot(b), d)); k = 0x5A827999
      elseif i < 40 then f = bxor(b, c, d); k = 0x6ED9EBA1
      elseif i < 60 then f = bor(band(b, c), band(b, d), band(c, d)); k = 0x8F1BBCDC
      else f = bxor(b, c, d); k = 0xCA62C1D6 end
      local t = tobit(rol(a, 5) + f + e + k + w[i])
      e, d, c, b, a = d, c, rol(b, 30), a, t
    end
    h0, h1, h2, h3, h4 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d), tobit(h4 + e)
  end
  return u32be(h0) .. u32be(h1) .. u32be(h2) .. u32be(h3) .. u32be(h4)
end

local function xor_pad(key, byte)
  local out = {}
  for i = 1, 64 do out[i] = string.char(bxor(key:byte(i) or 0, byte)) end
  return table.concat(out)
end

local ipad, opad
local function hmac_sha1(msg)
  return sha1(opad .. sha1(ipad .. msg))
end

local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = lshift(a, 16) + lshift(b or 0, 8) + (c or 0)
    out[#out + 1] = b64chars:sub(rshift(n, 18) + 1, rshift(n, 18) + 1)
      .. b64chars:sub(band(rshift(n, 12), 63) + 1, band(rshift(n, 12), 63) + 1)
      .. (b and b64chars:sub(band(rshift(n, 6), 63) + 1, band(rshift(n, 6), 63) + 1) or "=")
      .. (c and b64chars:sub(band(n, 63) + 1, band(n, 63) + 1) or "=")
  end
  return table.concat(out)
end

-- The canonical encoding of alibaba-api.md §3.2.
local function pct(s)
  return (s:gsub("[^A-Za-z0-9%-_%.~]", function(ch) return string.format("%%%02X", ch:byte()) end))
end

local akid, action, key_id, blob
-- thread_id is a global: setup() runs in the main Lua state and sets it in
-- each thread's own state, which a local here would shadow.
local next_id = 0
local counter = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end

function init(args)
  akid = os.getenv("SD_AKID")
  local secret = os.getenv("SD_SECRET") .. "&"
  if #secret > 64 then secret = sha1(secret) end
  ipad, opad = xor_pad(secret, 0x36), xor_pad(secret, 0x5c)
  action = os.getenv("SD_ACTION") or "GenerateDataKey"
  key_id = os.getenv("SD_KEY_ID")
  blob = os.getenv("SD_BLOB")
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
  counter = counter + 1
  local p = {
    AccessKeyId = akid, Action = action, Format = "JSON", SignatureMethod = "HMAC-SHA1",
    SignatureNonce = string.format("%d-%d-%d-%d", thread_id or 0, os.time(), counter,
                                   math.random(1, 2147483647)),
    SignatureVersion = "1.0", Timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ"), Version = "2016-01-20",
  }
  if action == "Decrypt" then p.CiphertextBlob = blob else p.KeyId = key_id end
  local names = {}
  for k in pairs(p) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for i, k in ipairs(names) do parts[i] = pct(k) .. "=" .. pct(p[k]) end
  local q = table.concat(parts, "&")
  local sig = b64(hmac_sha1("POST&%2F&" .. pct(q)))
  return wrk.format("POST", "/?" .. q .. "&Signature=" .. pct(sig), {["Content-Length"] = "0"}, "")
end
