#!/bin/sh
# signal-cli-rest-api lives only while carebot listens (deploy/signal.md, "Start and stop order").
#
# In json-rpc mode the service takes every message off Signal's servers as it arrives and hands it
# to whoever is attached to its websocket: with nobody attached, the message is gone for good.
# While the service is down, Signal's servers keep messages (up to 30 days). So this wrapper, the
# service container's entrypoint in compose.yaml:
#   1. waits until carebot answers /healthz (carebot then polls for the service every 0.5-2 s and
#      attaches while signal-cli, a JVM, is still starting, before it receives anything);
#   2. starts the image's own entrypoint;
#   3. asks carebot every second; after two misses in a row it exits, and as the container's
#      first process its exit stops signal-cli at once. The restart policy brings the container
#      back, and step 1 waits for carebot again.
# A graceful stop of carebot costs nothing: carebot keeps listening until the service has gone.
# A crash leaves a gap of about three seconds in which texts can be lost; see deploy/signal.md.
set -u
health="${CAREBOT_HEALTH:?set CAREBOT_HEALTH to carebot's /healthz URL}"
every="${CAREBOT_HEALTH_EVERY:-1}"
entrypoint="${SIGNAL_ENTRYPOINT:-/entrypoint.sh}"

answers() { curl -fsS -m 2 -o /dev/null "$health" 2>/dev/null; }

trap 'exit 0' TERM INT  # docker stop: the container ends, and signal-cli with it

until answers; do
    sleep "$every" & wait $!
done
echo "carebot answers: starting signal-cli-rest-api" >&2
"$entrypoint" &
service=$!

misses=0
while kill -0 "$service" 2>/dev/null; do
    sleep "$every" & wait $!
    if answers; then misses=0; else misses=$((misses + 1)); fi
    if [ "$misses" -ge 2 ]; then
        echo "carebot does not answer: stopping signal-cli-rest-api so Signal keeps the texts" >&2
        kill -TERM "$service" 2>/dev/null
        exit 1
    fi
done
wait "$service"
exit 1  # the service ended on its own: let the restart policy (and step 1) bring it back
