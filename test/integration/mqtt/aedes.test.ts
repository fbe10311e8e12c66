// The MQTT connector against aedes, in process on 127.0.0.1.
import { startAedes } from "./aedes.js";
import { brokerSuite } from "./suite.js";

brokerSuite("aedes (in process)", (users) => startAedes(users ? { users } : {}));
