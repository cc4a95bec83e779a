using EdgeRuntime.Tools.Commands;

return EdgeFwCli.Run(args);
