using EdgeRuntime.Service.Commands;

// The MQTT service host will wrap this later; for now the executable is its command line.
return EdgeRuntimeCli.Run(args);
