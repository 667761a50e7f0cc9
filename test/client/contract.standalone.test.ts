import { runContract, standaloneContract } from './contract/fixture.ts';

runContract(standaloneContract());
