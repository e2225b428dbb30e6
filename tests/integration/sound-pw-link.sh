#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# The session manager's two jobs for tests/integration/test-sound's private
# PipeWire daemon (which has none): give an adapter node its ports
# (PortConfig, "dsp" mode) and link it.  Exit 1 while the node does not
# exist yet (the caller retries).
#   sound-pw-link.sh sink          the null sink: stereo, with monitor ports
#   sound-pw-link.sh NODE output   configure NODE (mono), link it to the sink
#   sound-pw-link.sh NODE input    configure NODE (mono), link the sink's monitor to it
node_id() {
	pw-cli ls Node | awk -v want="node.name = \"$1\"" \
		'/^\tid /{ id = $2; sub(",", "", id) } index($0, want) { print id }'
}
fmt() {
	echo "\"format\": { \"mediaType\": \"audio\", \"mediaSubtype\": \"raw\", \"format\": \"F32P\", \"rate\": 48000, $1 }"
}
if [ "$1" = sink ]; then
	id=$(node_id vhd-null-sink)
	[ -n "$id" ] || exit 1
	pw-cli s "$id" PortConfig "{ \"direction\": \"Input\", \"mode\": \"dsp\", \"monitor\": true, $(fmt '"channels": 2, "position": [ "FL", "FR" ]') }" >/dev/null || exit 1
	exit 0
fi
id=$(node_id "$1")
[ -n "$id" ] || exit 1
if [ "$2" = output ]; then
	pw-cli s "$id" PortConfig "{ \"direction\": \"Output\", \"mode\": \"dsp\", $(fmt '"channels": 1, "position": [ "MONO" ]') }" >/dev/null || exit 1
	# The ports appear once the node handled the PortConfig: retried.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pw-link "$1:output_MONO" vhd-null-sink:playback_FL 2>/dev/null && exit 0
		sleep 0.1
	done
else
	pw-cli s "$id" PortConfig "{ \"direction\": \"Input\", \"mode\": \"dsp\", $(fmt '"channels": 1, "position": [ "MONO" ]') }" >/dev/null || exit 1
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pw-link vhd-null-sink:monitor_FL "$1:input_MONO" 2>/dev/null && exit 0
		sleep 0.1
	done
fi
exit 1
