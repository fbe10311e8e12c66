// The MQTT connector against a real Mosquitto broker (Debian's `mosquitto`; `.ci/run` installs
// it). Fails, rather than skips, when mosquitto is missing.
import { startMosquitto } from "../../services/mosquitto/start.js";
import { brokerSuite } from "./suite.js";

brokerSuite("mosquitto", (users) => startMosquitto(users ? { users } : {}));
