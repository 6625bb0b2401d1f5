// Stands in for the ssh2 package inside the CLI bundle: docker-modem requires ssh2 when it loads,
// which costs ~130 ms of start-up on every command, yet only DOCKER_HOST=ssh://… ever uses it.
// The real package is loaded on first use. (A computed name keeps the bundler from inlining it.)
const realName = ['ssh', '2'].join('');
module.exports = {
  Client: function Client() {
    const { Client: RealClient } = require(realName);
    return new RealClient();
  },
};
