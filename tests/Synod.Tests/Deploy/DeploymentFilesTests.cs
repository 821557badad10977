using k8s;
using k8s.Models;
using Synod.Cli;
using Synod.Tests.Cluster;

namespace Synod.Tests.Deploy;

/// <summary>
/// Issue 20, packages: the Kubernetes manifests, the compose file and the Dockerfile say what docs/deploy.md says they
/// do, read with the official Kubernetes client's own model types (no cluster can run here to apply them), and the
/// replica command they hold is one `synod serve` accepts.
/// </summary>
public sealed class DeploymentFilesTests
{
    private static string File(string name) => System.IO.File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "deploy", name));

    [Fact]
    public void The_kubernetes_manifests_are_a_statefulset_of_five_with_volumes_probes_a_headless_service_and_a_budget_of_one()
    {
        var objects = KubernetesYaml.LoadAllFromString(File(Path.Combine("kubernetes", "synod.yaml")));

        var set = Assert.Single(objects.OfType<V1StatefulSet>());
        Assert.Equal(5, set.Spec.Replicas);
        Assert.Equal("synod", set.Spec.ServiceName);
        var container = Assert.Single(set.Spec.Template.Spec.Containers);
        Assert.Equal(7001, container.ReadinessProbe.Grpc.Port);
        Assert.Equal(7001, container.LivenessProbe.Grpc.Port);
        Assert.True(set.Spec.Template.Spec.SecurityContext.RunAsNonRoot);
        Assert.Contains(container.VolumeMounts, m => m.Name == "data" && m.MountPath == "/var/lib/synod");
        Assert.Equal("data", Assert.Single(set.Spec.VolumeClaimTemplates).Metadata.Name);
        Assert.Contains("synod serve", string.Join(" ", container.Args), StringComparison.Ordinal);

        var services = objects.OfType<V1Service>().ToList();
        var headless = Assert.Single(services, s => s.Metadata.Name == "synod");
        Assert.Equal("None", headless.Spec.ClusterIP);
        Assert.True(headless.Spec.PublishNotReadyAddresses);

        var budget = Assert.Single(objects.OfType<V1PodDisruptionBudget>());
        Assert.Equal("1", budget.Spec.MaxUnavailable.Value);

        // The configured peers name the StatefulSet's stable pod names, ids 1..5 for pods 0..4.
        var config = Assert.Single(objects.OfType<V1ConfigMap>());
        Assert.Equal(
            string.Join(",", Enumerable.Range(0, 5).Select(i => $"{i + 1}=synod-{i}.synod:7001")),
            config.Data["SYNOD_PEERS"]);
    }

    [Fact]
    public void The_compose_file_runs_five_replicas_and_the_image_is_non_root_with_a_volume_and_a_health_check()
    {
        var compose = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<Dictionary<string, object>>(File("docker-compose.yml"));
        var services = Assert.IsType<Dictionary<object, object>>(compose["services"]);
        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"synod-{i}"), services.Keys.Cast<string>().Order());

        var dockerfile = File("Dockerfile");
        Assert.Contains("USER synod", dockerfile, StringComparison.Ordinal);
        Assert.Contains("VOLUME /var/lib/synod", dockerfile, StringComparison.Ordinal);
        Assert.Contains("\"synod\", \"health\"", dockerfile, StringComparison.Ordinal);
        Assert.Contains("AS build", dockerfile, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_bootstrap_a_replica_with_an_empty_volume_refuses_to_start_rather_than_join_empty()
    {
        // The manifests pass --new-cluster only while SYNOD_BOOTSTRAP is "new": after that, a lost volume must not come
        // back as an empty voter. The configured peers parse, and the start is refused (exit 1, as every refused start of the storage) naming what to do.
        var peers = KubernetesYaml.LoadAllFromString(File(Path.Combine("kubernetes", "synod.yaml"))).OfType<V1ConfigMap>().Single().Data["SYNOD_PEERS"];
        var empty = Directory.CreateTempSubdirectory("synod-empty-volume-");
        try
        {
            var run = await CliExitCodeTests.RunAsync("serve", "--id", "3", "--listen", ReplicaProcesses.NewEndpoints(1)[1], "--peers", peers, "--data-dir", Path.Combine(empty.FullName, "data"), "--insecure-peers");
            CliExitCodeTests.AssertFailure(run, ExitCodes.Failure, "--rebuild-from-peers");
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }
}
