"""Seed the sandbox's AWS resources from an Ansible inventory, the single source of truth.

Every host of group ``sites`` is a site. Its host vars name a VPC, subnets and optionally an
internet-facing ALB, an EKS cluster (``site_cluster``: its control plane only; deploy.yml makes the node
groups) and a database (``site_database``); the inventory's ``traffic_hosted_zone`` names a
public hosted zone. Resources are found again by their ``Name`` tag (VPC, subnets, EC2 instance) or
their name (ALB, target group, zone, RDS instance), so seeding twice creates nothing twice. Keys this
module does not know are ignored.

A database of kind ``ec2`` is an EC2 instance (its ``Name`` tag, in the site's first subnet) serving
on its private address, port 3306; one of kind ``rds`` is an RDS instance in a DB subnet group of the
site's subnets, serving on its endpoint. Either way seeding returns the database with that AWS-side
address, for the server to start a real MariaDB behind it (see ``sandbox.databases``).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox.inventory import InventoryError, read_inventory

DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
DATABASE_PORT = 3306
DATABASE_INSTANCE_TYPE = "t3.medium"  # offered in Local Zones too
DATABASE_IMAGE = "ami-03c3da4cfa8e8943a"  # Amazon Linux 2023 (x86_64), as moto lists it
RDS_INSTANCE_CLASS = "db.t3.medium"
RDS_ENGINE_VERSION = "10.11"
DATABASE_KEYS = ("name", "kind", "schema", "username", "password")


@dataclass(frozen=True)
class SiteSpec:
    """What an inventory says about one site."""

    name: str
    kind: str
    region: str
    vpc: dict[str, str]
    subnets: list[dict[str, str]]
    load_balancer: dict[str, str] | None
    cluster: dict[str, str] | None = None
    database: dict[str, Any] | None = None

    @classmethod
    def from_hostvars(cls, name: str, hostvars: dict[str, Any]) -> SiteSpec:
        try:
            return cls(name, hostvars["site_kind"], hostvars["site_region"], hostvars["site_vpc"],
                       hostvars.get("site_subnets", []), hostvars.get("site_load_balancer"),
                       hostvars.get("site_cluster"), hostvars.get("site_database"))
        except KeyError as missing:
            raise InventoryError(f"Site '{name}' has no {missing.args[0]} in the inventory.") from None


@dataclass(frozen=True)
class Inventory:
    """What seeding needs from one inventory."""

    path: Path
    sites: list[SiteSpec]
    hosted_zones: list[str]
    # The DMS replication instance the data tier's tasks run on: {identifier, class}; None without one.
    replication_instance: dict[str, str] | None = None
    # Domain of the ACM certificate the sites' HTTPS listeners serve (traffic_certificate_domain); None without.
    certificate_domain: str | None = None


@dataclass
class SeedResult:
    """What seeding one inventory did: site registrations and databases for the server, and what it created."""

    inventory: Path
    registrations: list[dict[str, Any]] = field(default_factory=list)
    databases: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    hosted_zones: dict[str, str] = field(default_factory=dict)


def load_inventory(path: str | Path) -> Inventory:
    """The sites (hosts of group ``sites``) and hosted zones the inventory at ``path`` declares."""
    groups = read_inventory(path)
    sites = [SiteSpec.from_hostvars(name, variables) for name, variables in groups.get("sites", {}).items()]
    everyone = groups.get("all", {}).values()
    zones = {variables["traffic_hosted_zone"] for variables in everyone if "traffic_hosted_zone" in variables}
    instance = next((v["data_tier_replication_instance"] for v in everyone if v.get("data_tier_replication_instance")), None)
    domain = next((v["traffic_certificate_domain"] for v in everyone if v.get("traffic_certificate_domain")), None)
    return Inventory(Path(path).resolve(), sites, sorted(zones), instance, domain)


def seed_inventory(path: str | Path, endpoint_url: str) -> SeedResult:
    """Create (or find) every resource the inventory at ``path`` declares, in the sandbox."""
    inventory = load_inventory(path)
    seeder = Seeder(endpoint_url)
    result = SeedResult(inventory.path)
    registrations = [seeder.seed_site(site, result.created) for site in inventory.sites]
    for site, registration in zip(inventory.sites, registrations):
        if site.cluster:
            # Sites may share a cluster (a Local Zone and its Region): its control plane takes the subnets of the
            # Region sites among them (EKS puts none in a Local Zone or on an Outpost), else of all of them.
            # site_cluster.subnets names them (or describes Region subnets only the control plane uses).
            sharing = [(s, r) for s, r in zip(inventory.sites, registrations)
                       if s.cluster and s.cluster["name"] == site.cluster["name"] and s.region == site.region]
            control_plane = seeder.control_plane_subnets(site, registration["vpc_id"], result.created) \
                or [i for s, r in sharing if s.kind == "region" for i in r["subnet_ids"]] \
                or [i for _s, r in sharing for i in r["subnet_ids"]]
            registration["cluster"] = seeder.cluster(site, control_plane, result.created)
        result.registrations.append(registration)
        if site.database:
            result.databases.append(seeder.database(site, registration["subnet_ids"], result.created))
    if inventory.replication_instance:
        seeder.replication_instance(inventory.replication_instance, inventory.sites, result.created)
    if inventory.certificate_domain:
        for region in sorted({site.region for site in inventory.sites}):
            seeder.certificate(inventory.certificate_domain, region, result.created)
    for zone in inventory.hosted_zones:
        result.hosted_zones[zone] = seeder.hosted_zone(zone, result.created)
    return result


class Seeder:
    """Find-or-create of each resource kind, through boto3 against the sandbox endpoint."""

    def __init__(self, endpoint_url: str):
        self.endpoint_url = endpoint_url

    def client(self, service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint_url, **DUMMY_CREDENTIALS)

    def seed_site(self, site: SiteSpec, created: list[str]) -> dict[str, Any]:
        """Build the site's network and ALB; return its registration for the server (the cluster comes later)."""
        ec2 = self.client("ec2", site.region)
        vpc_id = self.vpc(ec2, site.vpc, created)
        subnet_ids = [self.subnet(ec2, vpc_id, subnet, created) for subnet in site.subnets]
        registration: dict[str, Any] = {
            "name": site.name,
            "kind": site.kind,
            "region": site.region,
            "vpc_id": vpc_id,
            "subnet_ids": subnet_ids,
            "outposts": [
                {"arn": s["outpost_arn"], "availability_zone": s["availability_zone"]}
                for s in site.subnets if s.get("outpost_arn")
            ],
            "endpoints": [],
            "load_balancer": None,
        }
        if site.load_balancer:
            balancer = self.load_balancer(site, vpc_id, subnet_ids, created)
            registration["load_balancer"] = balancer
            registration["endpoints"].append(balancer["dns_name"])
            registration["ports"] = balancer["ports"]
        return registration

    def cluster(self, site: SiteSpec, subnet_ids: list[str], created: list[str]) -> dict[str, str]:
        """The site's EKS cluster (its control plane) in ``subnet_ids``; the sandbox serves its API.

        Only the control plane, as an organisation's cluster stage leaves it: deploy.yml's eks_site adopts it and
        makes its node groups."""
        eks = self.client("eks", site.region)
        name = site.cluster["name"]
        cluster = find(lambda: [eks.describe_cluster(name=name)["cluster"]], "ResourceNotFoundException")
        if cluster is None:
            cluster = eks.create_cluster(name=name, version=str(site.cluster.get("version", "1.31")),
                                         roleArn=self.role("eks-ha-sandbox-cluster-role", "eks.amazonaws.com", created),
                                         resourcesVpcConfig={"subnetIds": subnet_ids})["cluster"]
            created.append(f"EKS cluster {name} ({site.region})")
        return {"name": name, "version": cluster["version"], "arn": cluster["arn"], "endpoint": cluster["endpoint"]}

    def control_plane_subnets(self, site: SiteSpec, vpc_id: str, created: list[str]) -> list[str]:
        """The ids of the subnets site_cluster.subnets gives: names of subnets seeded already (any site's, in the
        site's VPC), or {name, cidr, availability_zone} of subnets only the control plane uses, created here."""
        ec2 = self.client("ec2", site.region)
        ids = []
        for entry in site.cluster.get("subnets") or []:
            if isinstance(entry, dict):
                ids.append(self.subnet(ec2, vpc_id, entry, created))
                continue
            found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                  {"Name": "tag:Name", "Values": [entry]}])["Subnets"]
            if not found:
                raise InventoryError(f"site_cluster.subnets of site '{site.name}' names subnet '{entry}', which no "
                                     "site declares in its VPC.")
            ids.append(found[0]["SubnetId"])
        return ids

    def database(self, site: SiteSpec, subnet_ids: list[str], created: list[str]) -> dict[str, Any]:
        """The site's database with the AWS-side address of its EC2 or RDS instance (created the first time)."""
        spec = site.database
        missing = [key for key in DATABASE_KEYS if key not in spec]
        if missing or spec["kind"] not in ("ec2", "rds") or spec.get("engine", "mariadb") != "mariadb":
            raise InventoryError(f"site_database of site '{site.name}' needs {', '.join(DATABASE_KEYS)} "
                                 f"(kind ec2 or rds, engine mariadb); missing: {', '.join(missing) or 'none'}.")
        locate = self.database_instance if spec["kind"] == "ec2" else self.rds_instance
        host, port = locate(site, subnet_ids, created)
        return {"name": spec["name"], "site": site.name, "kind": spec["kind"], "engine": "mariadb",
                "schema": spec["schema"], "username": spec["username"], "password": str(spec["password"]),
                "aws_host": host, "aws_port": port}

    def database_instance(self, site: SiteSpec, subnet_ids: list[str], created: list[str]) -> tuple[str, int]:
        """The EC2 instance the database runs on, by its Name tag, in the site's first subnet."""
        ec2 = self.client("ec2", site.region)
        name = site.database["name"]
        filters = [{"Name": "tag:Name", "Values": [name]}, {"Name": "instance-state-name", "Values": ["pending", "running"]}]
        instances = [i for r in ec2.describe_instances(Filters=filters)["Reservations"] for i in r["Instances"]]
        if not instances:
            instances = ec2.run_instances(ImageId=DATABASE_IMAGE, InstanceType=DATABASE_INSTANCE_TYPE, MinCount=1,
                                          MaxCount=1, SubnetId=subnet_ids[0],
                                          TagSpecifications=[name_tag("instance", name)])["Instances"]
            created.append(f"EC2 instance {name} ({instances[0]['InstanceId']}, {instances[0]['PrivateIpAddress']})")
        return instances[0]["PrivateIpAddress"], DATABASE_PORT

    def rds_instance(self, site: SiteSpec, subnet_ids: list[str], created: list[str]) -> tuple[str, int]:
        """The RDS for MariaDB instance of the database, in a DB subnet group of the site's subnets."""
        rds = self.client("rds", site.region)
        spec = site.database
        name = spec["name"]
        found = find(lambda: rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"], "DBInstanceNotFound")
        if found is None:
            group = f"{name}-subnets"
            if find(lambda: rds.describe_db_subnet_groups(DBSubnetGroupName=group)["DBSubnetGroups"],
                    "DBSubnetGroupNotFoundFault") is None:
                rds.create_db_subnet_group(DBSubnetGroupName=group, SubnetIds=subnet_ids,
                                           DBSubnetGroupDescription=f"Subnets of database {name}")
            found = rds.create_db_instance(
                DBInstanceIdentifier=name, DBInstanceClass=RDS_INSTANCE_CLASS, Engine="mariadb",
                EngineVersion=RDS_ENGINE_VERSION, MasterUsername=spec["username"],
                MasterUserPassword=str(spec["password"]), AllocatedStorage=20, DBName=spec["schema"],
                DBSubnetGroupName=group, Port=DATABASE_PORT)["DBInstance"]
            created.append(f"RDS instance {name} ({found['Endpoint']['Address']})")
        return found["Endpoint"]["Address"], found["Endpoint"]["Port"]

    def replication_instance(self, spec: dict[str, str], sites: list[SiteSpec], created: list[str]) -> str:
        """The ARN of the DMS replication instance ``spec`` names, created the first time in the first site's Region."""
        if not spec.get("identifier"):
            raise InventoryError("data_tier_replication_instance needs an identifier (and optionally a class).")
        dms = self.client("dms", sites[0].region)
        filters = [{"Name": "replication-instance-id", "Values": [spec["identifier"]]}]
        found = find(lambda: dms.describe_replication_instances(Filters=filters)["ReplicationInstances"],
                     "ResourceNotFoundFault")
        if found is None:
            found = dms.create_replication_instance(
                ReplicationInstanceIdentifier=spec["identifier"],
                ReplicationInstanceClass=spec.get("class", "dms.t3.medium"))["ReplicationInstance"]
            created.append(f"DMS replication instance {spec['identifier']}")
        return found["ReplicationInstanceArn"]

    def certificate(self, domain: str, region: str, created: list[str]) -> str:
        """The ARN of an issued ACM certificate for ``domain`` in ``region``, imported (self-signed) the first time."""
        acm = self.client("acm", region)
        for summary in acm.list_certificates(CertificateStatuses=["ISSUED"])["CertificateSummaryList"]:
            if summary["DomainName"] == domain:
                return summary["CertificateArn"]
        certificate, key = self_signed(domain)
        arn = acm.import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
        created.append(f"ACM certificate {domain} ({region})")
        return arn

    def role(self, name: str, service: str, created: list[str]) -> str:
        """The ARN of IAM role ``name`` that ``service`` may assume, created the first time."""
        iam = self.client("iam", "us-east-1")
        found = find(lambda: [iam.get_role(RoleName=name)["Role"]], "NoSuchEntity")
        if found:
            return found["Arn"]
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
        created.append(f"IAM role {name}")
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def vpc(self, ec2: Any, spec: dict[str, str], created: list[str]) -> str:
        found = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [spec["name"]]}])["Vpcs"]
        if found:
            return found[0]["VpcId"]
        vpc_id = ec2.create_vpc(CidrBlock=spec["cidr"], TagSpecifications=[name_tag("vpc", spec["name"])])["Vpc"]["VpcId"]
        created.append(f"vpc {spec['name']} ({vpc_id})")
        return vpc_id

    def subnet(self, ec2: Any, vpc_id: str, spec: dict[str, str], created: list[str]) -> str:
        filters = [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "tag:Name", "Values": [spec["name"]]}]
        found = ec2.describe_subnets(Filters=filters)["Subnets"]
        if found:
            return found[0]["SubnetId"]
        arguments = {"VpcId": vpc_id, "CidrBlock": spec["cidr"], "AvailabilityZone": spec["availability_zone"],
                     "TagSpecifications": [name_tag("subnet", spec["name"])]}
        if spec.get("outpost_arn"):
            arguments["OutpostArn"] = spec["outpost_arn"]
        subnet_id = ec2.create_subnet(**arguments)["Subnet"]["SubnetId"]
        created.append(f"subnet {spec['name']} ({subnet_id}, {spec['availability_zone']})")
        return subnet_id

    def load_balancer(self, site: SiteSpec, vpc_id: str, subnet_ids: list[str], created: list[str]) -> dict[str, str]:
        """The site's internet-facing ALB in its own subnets, with a target group and HTTP:80 listener."""
        elbv2 = self.client("elbv2", site.region)
        name = site.load_balancer["name"]
        balancer = find(lambda: elbv2.describe_load_balancers(Names=[name])["LoadBalancers"], "LoadBalancerNotFound")
        if balancer is None:
            balancer = elbv2.create_load_balancer(
                Name=name, Subnets=subnet_ids, Scheme="internet-facing", Type="application",
                Tags=[{"Key": "Name", "Value": name}])["LoadBalancers"][0]
            created.append(f"load balancer {name} ({balancer['DNSName']})")
        target_group_arn = self.target_group(elbv2, target_group_name(name), vpc_id, created)
        listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        if not any(listener["Port"] == 80 for listener in listeners):
            listeners.append(elbv2.create_listener(
                LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group_arn}])["Listeners"][0])
            created.append(f"listener HTTP:80 on {name}")
        return {"name": name, "arn": balancer["LoadBalancerArn"], "dns_name": balancer["DNSName"],
                "canonical_hosted_zone_id": balancer["CanonicalHostedZoneId"],
                "ports": sorted(listener["Port"] for listener in listeners)}

    def target_group(self, elbv2: Any, name: str, vpc_id: str, created: list[str]) -> str:
        group = find(lambda: elbv2.describe_target_groups(Names=[name])["TargetGroups"], "TargetGroupNotFound")
        if group is None:
            group = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc_id, TargetType="ip",
                                              HealthCheckPath="/")["TargetGroups"][0]
            created.append(f"target group {name}")
        return group["TargetGroupArn"]

    def hosted_zone(self, zone: str, created: list[str]) -> str:
        """The id of the public hosted zone named ``zone``, created the first time."""
        route53 = self.client("route53", "us-east-1")
        fqdn = zone.rstrip(".") + "."
        zones = route53.list_hosted_zones_by_name(DNSName=fqdn)["HostedZones"]
        match = next((z for z in zones if z["Name"] == fqdn and not z["Config"].get("PrivateZone")), None)
        if match:
            return match["Id"]
        zone_id = route53.create_hosted_zone(Name=fqdn, CallerReference=f"eks-ha-sandbox-{fqdn}")["HostedZone"]["Id"]
        created.append(f"hosted zone {fqdn} ({zone_id})")
        return zone_id


def find(describe: Any, not_found_code: str) -> dict[str, Any] | None:
    """The first item ``describe()`` returns, or None when it raises ``not_found_code``."""
    try:
        items = describe()
    except ClientError as error:
        if error.response["Error"]["Code"] != not_found_code:
            raise
        return None
    return items[0] if items else None


def self_signed(domain: str) -> tuple[bytes, bytes]:
    """A PEM certificate for ``domain`` valid for a year, and its private key (what ACM imports)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=365))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
                   .sign(key, hashes.SHA256()))
    return (certificate.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def name_tag(resource_type: str, name: str) -> dict[str, Any]:
    return {"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}


def target_group_name(load_balancer_name: str) -> str:
    """``<alb>-tg`` within the 32-character limit of target group names."""
    return load_balancer_name[:29].rstrip("-") + "-tg"
