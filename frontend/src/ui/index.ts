export { saveBlob } from "./chat/fileSave";
export { bindRootState } from "./rootState";
export { Shell } from "./Shell";
