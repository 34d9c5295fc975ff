"""The projection's Lua scripts: each documents its KEYS and ARGV, and every write it makes only
moves an entry's version forward, so concurrent writers and late retries never move the
projection backwards. All keys of one call share a cluster slot.
"""

from __future__ import annotations

from inventory.domain import records

# KEYS[i] = stk:{sku}; ARGV[1] = "1" to overwrite whatever is held (repairs), else "0";
# ARGV[i + 1] = that key's packed entries to write. An entry replaces the one of the same location
# slot when its version is newer, or joins the record when the slot has none. Returns how many
# entries were written. All keys of one call share a cluster slot.
LOCATE = """
local SIZE = ENTRY_SIZE
local function locate(record, slot)
  local from = 1
  while true do
    local at = string.find(record, slot, from, true)
    if not at then return nil end
    if (at - 9) % SIZE == 0 then return at - 8 end
    from = at + 1
  end
end
""".replace("ENTRY_SIZE", str(records.SIZE))
PUT = (
    LOCATE
    + """
local force = ARGV[1] == '1'
local written = 0
for i, key in ipairs(KEYS) do
  local record = redis.call('GET', key) or ''
  local incoming = ARGV[i + 1]
  local joining = {}
  for off = 1, #incoming, SIZE do
    local entry = string.sub(incoming, off, off + SIZE - 1)
    local at = locate(record, string.sub(entry, 9, 12))
    if not at then
      joining[#joining + 1] = entry
    elseif force or struct.unpack('<i8', record, at) < struct.unpack('<i8', entry) then
      redis.call('SETRANGE', key, at - 1, entry)
      written = written + 1
    end
  end
  if #joining > 0 then
    redis.call('APPEND', key, table.concat(joining))
    written = written + #joining
  end
end
return written
"""
)
# KEYS[1] = stk:{sku}; ARGV[1] = packed int32 slots whose entries to drop. Returns how many went.
REMOVE = (
    LOCATE
    + """
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
local removed = 0
for off = 1, #ARGV[1], 4 do
  local at = locate(record, string.sub(ARGV[1], off, off + 3))
  if at then
    record = string.sub(record, 1, at - 1) .. string.sub(record, at + SIZE)
    removed = removed + 1
  end
end
if #record == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], record) end
return removed
"""
)
# KEYS[1] = g<N>:inb:{sku}, KEYS[2] = g<N>:inw:{sku}; ARGV = field, units, field, units, ...
# A rebuild's load of one SKU's inbound into the generation it builds, skipped when a writer
# replaced that SKU's inbound there meanwhile (KEYS[2] set): the writer read SQL after the rebuild.
LOAD_INBOUND = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('DEL', KEYS[1])
if #ARGV > 0 then redis.call('HSET', KEYS[1], unpack(ARGV)) end
return 1
"""
# The generation pointers, all in the {net} slot: KEYS[1] = {net}:building, KEYS[2] = {net}:gen,
# KEYS[3] = {net}:gens, KEYS[4] = {net}:stamp.
# BEGIN: ARGV[1] = the lease in ms. Gives a generation number never used before and holds it as
# the one being built, or returns 0 when another rebuild holds the lease.
BEGIN = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local live = tonumber(redis.call('GET', KEYS[2]) or '0')
local given = redis.call('INCR', KEYS[3])
if given <= live then
  given = live + 1
  redis.call('SET', KEYS[3], given)
end
redis.call('SET', KEYS[1], given, 'PX', ARGV[1])
return given
"""
# RENEW: ARGV[1] = the generation, ARGV[2] = the lease in ms. 1 while the lease is still ours.
RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
# SWITCH: ARGV[1] = the generation built, ARGV[2] = the server run it was built on. Makes it the
# live one if its lease still holds (no writer stopped writing it), and stamps it with that run.
# Returns the generation it replaced, or -1 when the lease was lost.
SWITCH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local old = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('SET', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[4], 'generation', ARGV[1], 'run_id', ARGV[2])
return old
"""
# RELEASE: ARGV[1] = the generation. Gives up the lease of a rebuild that failed, if still ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""
