export { bindRootState } from "./rootState";
export { Shell } from "./Shell";
