/**
 * Engine settings a compose service sets on its containers, named as the Docker Engine API's
 * HostConfig names them (and as `docker inspect` shows them), so the engine adapter passes them
 * through unchanged. Each field is set only when the service sets the key it comes from.
 */
/** Container settings (the Engine API's Config, beside HostConfig) a compose service sets. */
export interface ContainerOptions {
  Hostname?: string;
  Domainname?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
}

export interface HostOptions {
  CapAdd?: string[];
  CapDrop?: string[];
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[];
  Sysctls?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  Ulimits?: Array<{ Name: string; Soft: number; Hard: number }>;
  ShmSize?: number;
  PidsLimit?: number;
  ExtraHosts?: string[];
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  GroupAdd?: string[];
  OomScoreAdj?: number;
  OomKillDisable?: boolean;
  Devices?: Array<{ PathOnHost: string; PathInContainer: string; CgroupPermissions: string }>;
  LogConfig?: { Type: string; Config: Record<string, string> };
  IpcMode?: string;
  PidMode?: string;
  CpuShares?: number;
  CpusetCpus?: string;
  CpuQuota?: number;
  CpuPeriod?: number;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number;
  CgroupParent?: string;
  UsernsMode?: string;
  UTSMode?: string;
  Runtime?: string;
}
