using EdgeRuntime.Service.Commands;

// edge-runtime: no command serves over MQTT (see Hosting/ServiceHost.cs); `generate` runs one prompt locally.
return await EdgeRuntimeCli.RunAsync(args).ConfigureAwait(false);
