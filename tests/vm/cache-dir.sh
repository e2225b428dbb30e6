# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Sourced (sh) by build-kernel.sh and fetch-qemu10.sh: sets $cache to the
# absolute path of the guest-test cache and creates it.  $VHD_VM_CACHE if
# set, else /var/cache/vhost-device-c/vm, or ~/.cache/vhost-device-c/vm
# when /var/cache is not writable (not root).  docs/testing.md describes it.
cache=${VHD_VM_CACHE:-}
if [ -z "$cache" ]; then
	cache=/var/cache/vhost-device-c/vm
	if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
		cache=${XDG_CACHE_HOME:-$HOME/.cache}/vhost-device-c/vm
	fi
fi
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
