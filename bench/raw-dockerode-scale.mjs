// The reference for bench/scale.mjs: the least a script can do with dockerode to run N
// containers of a service (create + start in parallel) or to go back to 1 (stop + remove in
// parallel). No config parsing, no labels beyond the project's, no checks.
import Docker from 'dockerode';

const [direction, project, countText] = process.argv.slice(2);
const count = Number(countText);
const docker = new Docker();
const image = 'qscale/node-base:local';
const command = ['node', '-e', "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"];

if (direction === 'up') {
  await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const container = await docker.createContainer({
        name: `${project}-raw-${index + 1}`,
        Image: image,
        Cmd: command,
        Labels: { 'com.docker.compose.project': project },
        HostConfig: { NetworkMode: 'host', Init: true },
      });
      await container.start();
    }),
  );
} else {
  const listed = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${project}`] } });
  const victims = listed.sort((a, b) => b.Names[0].localeCompare(a.Names[0], undefined, { numeric: true })).slice(0, listed.length - count);
  await Promise.all(
    victims.map(async (info) => {
      const container = docker.getContainer(info.Id);
      await container.stop({ t: 10 });
      await container.remove();
    }),
  );
}
