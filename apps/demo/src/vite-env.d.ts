/// <reference types="vite/client" />
interface ImportMetaEnv {
  /** where the model's files are (config.json, model.safetensors, tokenizer.json); default models/builtin/ */
  readonly VITE_MODEL_URL?: string;
}
