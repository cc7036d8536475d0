package sim

// ModelVersion names the performance model: a prediction stored by the sim
// engine records it as its provenance, so that predictions of different model
// versions are told apart. Bump it when a change to the model or to the
// default efficiency factors changes what it predicts.
const ModelVersion = "2026.12.2"
