import { clusterContract, runContract } from './contract/fixture.ts';

runContract(clusterContract());
