import { describe, expect, it } from 'vitest';
import { containerIdFromMountinfo, resolveWorkerId } from '../../../templates/worker/src/worker-id.js';

const ID = '3f4e1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f';

// From a container under Docker 20.10 with overlay2 (trimmed).
const MOUNTINFO = `\
1047 966 0:60 / / rw,relatime master:499 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ABC:/var/lib/docker/overlay2/l/DEF,upperdir=/var/lib/docker/overlay2/0a1b/diff,workdir=/var/lib/docker/overlay2/0a1b/work
1048 1047 0:63 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1053 1047 8:1 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw
1054 1047 8:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw
1055 1047 8:1 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw
`;

describe('containerIdFromMountinfo', () => {
  it('finds the short container id from the /etc/hostname mount', () => {
    expect(containerIdFromMountinfo(MOUNTINFO)).toBe('3f4e1c2b9a8d');
  });

  it('uses the /etc/hosts mount when /etc/hostname is not there', () => {
    expect(containerIdFromMountinfo(MOUNTINFO.split('\n').filter((line) => !line.includes(' /etc/hostname ')).join('\n'))).toBe('3f4e1c2b9a8d');
  });

  it('finds nothing outside a container, or in other mounts', () => {
    expect(containerIdFromMountinfo('22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n')).toBeUndefined();
    expect(containerIdFromMountinfo(`1 1 8:1 /var/lib/docker/containers/${ID}/data /data rw - ext4 /dev/sda1 rw\n`)).toBeUndefined();
  });
});

describe('resolveWorkerId', () => {
  it('prefers the container id, then WORKER_ID, then the hostname', () => {
    expect(resolveWorkerId(MOUNTINFO, 'env-id', 'host')).toBe('3f4e1c2b9a8d');
    expect(resolveWorkerId('', 'env-id', 'host')).toBe('env-id');
    expect(resolveWorkerId(undefined, undefined, 'host')).toBe('host');
  });
});
