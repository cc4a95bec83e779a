using EdgeRuntime.Messaging;
using EdgeRuntime.Service.Inference;
using EdgeRuntime.Service.Mqtt;
using EdgeRuntime.Service.Options;
using EdgeRuntime.Service.Systemd;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Service.Hosting;

/// <summary>Builds the serving host: configuration, options with validation, systemd integration and the hosted services.</summary>
/// <remarks>
/// <para>Configuration, later sources winning: <c>appsettings.json</c> beside the executable, <c>appsettings.json</c> in
/// the content root (the working directory), <c>$CONFIGURATION_DIRECTORY/appsettings.json</c> (systemd
/// <c>ConfigurationDirectory=</c>), environment variables (<c>EDGE_</c> prefix, <c>__</c> for ':', e.g.
/// <c>EDGE_Mqtt__Broker</c>), then the command line (<c>--Model:Path=dir</c>).</para>
/// <para>Hosted services start in order broker, MQTT connection, inference, watchdog, and stop in reverse, so running
/// requests get their final messages before the connection closes. Stateless.</para>
/// </remarks>
public static class ServiceHost
{
    /// <summary>The environment-variable prefix of configuration keys.</summary>
    public const string EnvironmentPrefix = "EDGE_";

    /// <summary>Builds the host for <paramref name="args"/> (configuration overrides such as <c>--Model:Path=dir</c>).</summary>
    public static IHost Build(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ApplicationName = "edge-runtime" });
        ConfigureSources(builder.Configuration);

        builder.Services.AddSystemd();
        builder.Services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<ModelSourceOptions>().BindConfiguration(ModelSourceOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<InferModelOptions>().BindConfiguration(InferModelOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<RuntimeOptions>().BindConfiguration(RuntimeOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<MqttOptions>().BindConfiguration(MqttOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<SessionsOptions>().BindConfiguration(SessionsOptions.Section).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<NodeOptions>, NodeOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelSourceOptions>, ModelSourceOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InferModelOptions>, InferModelOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RuntimeOptions>, RuntimeOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MqttOptions>, MqttOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LimitsOptions>, LimitsOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SessionsOptions>, SessionsOptionsValidator>());

        builder.Services.AddSingleton<ModelHost>();
        builder.Services.AddSingleton<WorkQueue>();
        builder.Services.AddSingleton<WorkerHealth>();
        builder.Services.AddSingleton<MqttOutbox>();
        builder.Services.AddSingleton<SdNotify>();
        builder.Services.AddSingleton(sp => new ReplyPublisher(sp.GetRequiredService<MqttOutbox>()));

        // Start order = registration order; stop order is the reverse.
        builder.Services.AddHostedService<EmbeddedBroker>();
        builder.Services.AddHostedService<MqttWorker>();
        builder.Services.AddHostedService<InferenceService>();
        builder.Services.AddHostedService<WatchdogPinger>();
        return builder.Build();
    }

    /// <summary>Adds the executable's and systemd's appsettings.json and the <c>EDGE_</c> environment variables, below the command line.</summary>
    internal static void ConfigureSources(IConfigurationBuilder configuration)
    {
        var sources = configuration.Sources;
        sources.Insert(0, Json(AppContext.BaseDirectory));
        int commandLine = sources.Count;
        for (int i = sources.Count - 1; i >= 0; i--)
        {
            if (sources[i] is CommandLineConfigurationSource)
            {
                commandLine = i;
                break;
            }
        }
        sources.Insert(commandLine, new EnvironmentVariablesConfigurationSource { Prefix = EnvironmentPrefix });
        string? configurationDirectory = Environment.GetEnvironmentVariable("CONFIGURATION_DIRECTORY");
        if (!string.IsNullOrEmpty(configurationDirectory)) sources.Insert(commandLine, Json(configurationDirectory.Split(':')[0]));
    }

    private static JsonConfigurationSource Json(string directory)
    {
        var source = new JsonConfigurationSource { Path = Path.Combine(Path.GetFullPath(directory), "appsettings.json"), Optional = true, ReloadOnChange = false };
        source.ResolveFileProvider();
        return source;
    }
}
