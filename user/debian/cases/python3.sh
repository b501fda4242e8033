# python3: a script using os, subprocess, json, threading and select.
python3 /opt/exo-debian/cases/check.py
python3 -c 'import sys; print(sys.version_info[:2], sys.platform, sys.getfilesystemencoding())'
echo '{"b": [1, 2, {"c": null}], "a": "x"}' | python3 -c 'import json, sys; d = json.load(sys.stdin); print(json.dumps(d, sort_keys=True))'
python3 -c 'import hashlib, zlib, binascii; print(hashlib.sha256(b"exo").hexdigest()[:16], zlib.crc32(b"exo"), binascii.hexlify(b"\x01\xff"))'
python3 -c 'raise SystemExit(5)'; echo "exit: $?"
python3 -c 'import _json; print("C json accelerator loaded")'
