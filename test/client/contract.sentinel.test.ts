import { runContract, sentinelContract } from './contract/fixture.ts';

runContract(sentinelContract());
